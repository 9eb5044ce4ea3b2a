/**
 * A tenant's own administration with an `admin` key: its API keys (a key scoped to assistants
 * sees and manages only keys within its scope), and, with an unscoped admin key, its webhook
 * secrets and usage.
 */
import { Hono } from "hono";
import { issueKey, listKeys, revokeKey, rotateWebhookSecret } from "../../commands/tenants";
import { parseMonth, readUsage } from "../../commands/usage";
import { type AuthedEnv, requireKey, requireRole, requireUnscoped } from "../../security/auth";
import { parseBody } from "../validate";
import { CreateKey, RotateSecret } from "./schemas";

const adminKey = [requireKey, requireRole("admin")] as const;
const tenantWide = [...adminKey, requireUnscoped] as const;

export const keys = new Hono<AuthedEnv>()
  .use("*", ...adminKey)
  .post("/", async (c) => {
    const body = await parseBody(c, CreateKey);
    return c.json(await issueKey(c.var.deps, c.var.tenant, body, c.var.principal), 201);
  })
  .get("/", async (c) => c.json(await listKeys(c.var.deps, c.var.tenant, c.var.principal)))
  .delete("/:key", async (c) =>
    c.json(await revokeKey(c.var.deps, c.var.tenant, c.req.param("key"), c.var.principal)),
  );

export const webhookSecrets = new Hono<AuthedEnv>().use("*", ...tenantWide).post("/rotate", async (c) => {
  const body = await parseBody(c, RotateSecret);
  return c.json(await rotateWebhookSecret(c.var.deps, c.var.tenant, body.window_s));
});

export const usage = new Hono<AuthedEnv>().use("*", ...tenantWide).get("/", async (c) => {
  const month = parseMonth(c.req.query("month"), c.var.deps.now());
  return c.json(await readUsage(c.var.deps, c.var.tenant, month));
});
