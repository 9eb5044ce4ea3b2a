/**
 * The operator's admin API: tenants, their API keys and webhook secrets, their usage. Authenticated
 * with OPERATOR_KEY only (tenant keys, even admin ones, are refused here).
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  createTenant,
  getTenant,
  issueKey,
  listKeys,
  revokeKey,
  rotateWebhookSecret,
  type TenantDeps,
  updateTenant,
} from "../commands/tenants";
import { parseMonth, readUsage } from "../commands/usage";
import { requireConfig } from "../config";
import { notFound } from "../errors";
import type { AppEnv } from "../app";
import { requireOperator } from "../security/auth";
import { ROLES } from "../security/roles";
import { stores } from "../services";
import { ListQuery, parseBody, parseQuery } from "./validate";

export const TenantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "tenant ids are 1-63 lowercase letters, digits, _ or -");

const Limits = z.strictObject({
  max_active_runs: z.number().int().min(1).max(100_000).nullable().optional(),
  monthly_runs: z.number().int().min(0).max(1e12).nullable().optional(),
  monthly_tokens: z.number().int().min(0).max(1e15).nullable().optional(),
});
const UpdateTenant = z.strictObject({
  name: z.string().max(256).nullable().optional(),
  limits: Limits.optional(),
});
const CreateTenant = UpdateTenant.extend({ id: TenantId.optional() });

export const CreateKey = z.strictObject({
  name: z.string().max(256).nullable().optional(),
  role: z.enum(ROLES),
  assistant_ids: z.array(z.string().min(1).max(64)).min(1).max(100).nullable().optional(),
  rate_limit_per_min: z.number().int().min(0).max(1_000_000).nullable().optional(),
});
export const RotateSecret = z.strictObject({
  window_s: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .optional(),
});

export function tenantDeps(env: object): TenantDeps {
  const config = requireConfig(env);
  const s = stores(config);
  return { tenants: s.tenants, apiKeys: s.apiKeys, config, now: Date.now };
}

/** A tenant id from the path; a malformed one is simply not found. */
function tenantParam(value: string): string {
  const parsed = TenantId.safeParse(value);
  if (!parsed.success) throw notFound("tenant", value.slice(0, 64), "tenant");
  return parsed.data;
}

export const admin = new Hono<AppEnv>()
  .use("/v1/admin/*", requireOperator)
  .post("/v1/admin/tenants", async (c) => {
    const body = await parseBody(c, CreateTenant);
    return c.json(await createTenant(tenantDeps(c.env), body), 201);
  })
  .get("/v1/admin/tenants", async (c) => {
    const q = parseQuery(c, ListQuery);
    return c.json(await stores(requireConfig(c.env)).tenants.list(q));
  })
  .get("/v1/admin/tenants/:tenant", async (c) =>
    c.json(await getTenant(tenantDeps(c.env), tenantParam(c.req.param("tenant")))),
  )
  .on(["POST", "PATCH"], "/v1/admin/tenants/:tenant", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    const body = await parseBody(c, UpdateTenant);
    return c.json(await updateTenant(tenantDeps(c.env), tenant, body));
  })
  .post("/v1/admin/tenants/:tenant/keys", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    const body = await parseBody(c, CreateKey);
    return c.json(await issueKey(tenantDeps(c.env), tenant, body, "operator"), 201);
  })
  .get("/v1/admin/tenants/:tenant/keys", async (c) =>
    c.json(await listKeys(tenantDeps(c.env), tenantParam(c.req.param("tenant")))),
  )
  .delete("/v1/admin/tenants/:tenant/keys/:key", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    return c.json(await revokeKey(tenantDeps(c.env), tenant, c.req.param("key")));
  })
  .get("/v1/admin/tenants/:tenant/usage", async (c) => {
    const tenant = (await getTenant(tenantDeps(c.env), tenantParam(c.req.param("tenant")))).id;
    const config = requireConfig(c.env);
    const month = parseMonth(c.req.query("month"), Date.now());
    return c.json(await readUsage(stores(config).redis, config, tenant, month));
  })
  .post("/v1/admin/tenants/:tenant/webhook_secrets/rotate", async (c) => {
    const tenant = tenantParam(c.req.param("tenant"));
    const body = await parseBody(c, RotateSecret);
    return c.json(await rotateWebhookSecret(tenantDeps(c.env), tenant, body.window_s));
  });
