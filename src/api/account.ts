/** A tenant's own administration with an `admin` key: its API keys, webhook secrets and usage. */
import { Hono } from "hono";
import { issueKey, listKeys, revokeKey, rotateWebhookSecret } from "../commands/tenants";
import { parseMonth, readUsage } from "../commands/usage";
import { requireConfig } from "../config";
import { type AuthedEnv, requireKey, requireRole } from "../security/auth";
import { stores } from "../services";
import { CreateKey, RotateSecret, tenantDeps } from "./admin";
import { parseBody } from "./validate";

export const account = new Hono<AuthedEnv>()
  .use("/v1/keys", requireKey, requireRole("admin"))
  .use("/v1/keys/*", requireKey, requireRole("admin"))
  .use("/v1/webhook_secrets/*", requireKey, requireRole("admin"))
  .use("/v1/usage", requireKey, requireRole("admin"))
  .get("/v1/usage", async (c) => {
    const config = requireConfig(c.env);
    const month = parseMonth(c.req.query("month"), Date.now());
    return c.json(await readUsage(stores(config).redis, config, c.var.tenant, month));
  })
  .post("/v1/keys", async (c) => {
    const body = await parseBody(c, CreateKey);
    return c.json(await issueKey(tenantDeps(c.env), c.var.tenant, body, c.var.principal), 201);
  })
  .get("/v1/keys", async (c) => c.json(await listKeys(tenantDeps(c.env), c.var.tenant)))
  .delete("/v1/keys/:key", async (c) =>
    c.json(await revokeKey(tenantDeps(c.env), c.var.tenant, c.req.param("key"))),
  )
  .post("/v1/webhook_secrets/rotate", async (c) => {
    const body = await parseBody(c, RotateSecret);
    return c.json(await rotateWebhookSecret(tenantDeps(c.env), c.var.tenant, body.window_s));
  });
