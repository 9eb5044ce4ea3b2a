/**
 * The operator's admin API (`/v1/admin`): tenants, their API keys and webhook secrets, their usage.
 * Authenticated with OPERATOR_KEY only (tenant keys, even admin ones, are refused here).
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  createTenant,
  getTenant,
  issueKey,
  listKeys,
  listTenants,
  revokeKey,
  rotateWebhookSecret,
  updateTenant,
} from "../../commands/tenants";
import { parseMonth, readUsage } from "../../commands/usage";
import type { AppEnv } from "../../deps";
import { notFound } from "../../errors";
import { requireOperator } from "../../security/auth";
import { ListQuery } from "../schemas";
import { parseBody, parseQuery } from "../validate";
import { CreateKey, RotateSecret } from "./schemas";

const TenantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "tenant ids are 1-63 lowercase letters, digits, _ or -");

const Limits = z.strictObject({
  max_active_runs: z.number().int().min(1).max(100_000).nullable().optional(),
  monthly_runs: z.number().int().min(0).max(1e12).nullable().optional(),
  monthly_tokens: z.number().int().min(0).max(1e15).nullable().optional(),
});
export const UpdateTenant = z.strictObject({
  name: z.string().max(256).nullable().optional(),
  limits: Limits.optional(),
});
export const CreateTenant = UpdateTenant.extend({ id: TenantId.optional() });

/** A tenant id from the path; a malformed one is simply not found. */
function tenantParam(value: string): string {
  const parsed = TenantId.safeParse(value);
  if (!parsed.success) throw notFound("tenant", value.slice(0, 64), "tenant");
  return parsed.data;
}

export const operator = new Hono<AppEnv>()
  .use("*", requireOperator)
  .post("/tenants", async (c) =>
    c.json(await createTenant(c.var.deps, await parseBody(c, CreateTenant)), 201),
  )
  .get("/tenants", async (c) => c.json(await listTenants(c.var.deps, parseQuery(c, ListQuery))))
  .get("/tenants/:tenant", async (c) =>
    c.json(await getTenant(c.var.deps, tenantParam(c.req.param("tenant")))),
  )
  .on(["POST", "PATCH"], "/tenants/:tenant", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    const body = await parseBody(c, UpdateTenant);
    return c.json(await updateTenant(c.var.deps, tenant, body));
  })
  .post("/tenants/:tenant/keys", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    const body = await parseBody(c, CreateKey);
    return c.json(await issueKey(c.var.deps, tenant, body, "operator"), 201);
  })
  .get("/tenants/:tenant/keys", async (c) =>
    c.json(await listKeys(c.var.deps, tenantParam(c.req.param("tenant")))),
  )
  .delete("/tenants/:tenant/keys/:key", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    return c.json(await revokeKey(c.var.deps, tenant, c.req.param("key")));
  })
  .get("/tenants/:tenant/usage", async (c) => {
    const { deps } = c.var;
    const tenant = (await getTenant(deps, tenantParam(c.req.param("tenant")))).id;
    const month = parseMonth(c.req.query("month"), deps.now());
    return c.json(await readUsage(deps, tenant, month));
  })
  .post("/tenants/:tenant/webhook_secrets/rotate", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    const body = await parseBody(c, RotateSecret);
    return c.json(await rotateWebhookSecret(c.var.deps, tenant, body.window_s));
  });
