/**
 * What the admin API (operator) and tenant admins ask for: tenants, API keys, webhook secrets.
 * Keys and secrets are returned in clear exactly once, by the call that makes them.
 *
 * Least privilege inside a tenant: a key never issues a key with a higher role, a wider assistant
 * scope or a looser rate limit than its own, and a key scoped to assistants sees and revokes only
 * keys within its scope (tenant-wide powers — the webhook secret, usage — need an unscoped key:
 * security/auth.ts requireUnscoped).
 */
import type { Config } from "../config";
import { ApiError, notFound } from "../errors";
import { DEFAULT_TENANT, type Principal, withinScope } from "../security/principal";
import { generateApiKey, generateWebhookSecret, keyHint, sha256Hex } from "../security/credentials";
import { type Role, roleAtLeast } from "../security/roles";
import { liveSecrets, publicSecret, rotated } from "../security/webhook-secrets";
import { newId } from "../store/ids";
import type { ListParams } from "../store/list";
import type {
  ApiKeyRecord,
  ApiKeyStore,
  TenantLimits,
  TenantRecord,
  TenantStore,
  WebhookSecret,
} from "../store/tenants";

export interface TenantDeps {
  tenants: Pick<TenantStore, "get" | "create" | "update" | "secrets" | "setSecrets" | "list">;
  apiKeys: Pick<ApiKeyStore, "put" | "get" | "list" | "revoke">;
  config: Pick<Config, "webhookSecret" | "secretRotationWindowS" | "rateLimitPerMin" | "maxKeysPerTenant">;
  now: () => number;
}

const NO_LIMITS: TenantLimits = { max_active_runs: null, monthly_runs: null, monthly_tokens: null };
const seconds = (ms: number) => Math.floor(ms / 1000);

/** Tenant "default" exists without a record (the bootstrap key's tenant); others must be created. */
export async function getTenant(deps: Pick<TenantDeps, "tenants">, id: string): Promise<TenantRecord> {
  const found = await deps.tenants.get(id);
  if (found) return found;
  if (id === DEFAULT_TENANT) return { id, object: "tenant", name: null, created_at: 0, limits: NO_LIMITS };
  throw notFound("tenant", id, "tenant");
}

export const listTenants = (deps: Pick<TenantDeps, "tenants">, params: ListParams) =>
  deps.tenants.list(params);

export async function createTenant(
  deps: TenantDeps,
  input: {
    id?: string | undefined;
    name?: string | null | undefined;
    limits?: Partial<TenantLimits> | undefined;
  },
) {
  const now = deps.now();
  const tenant: TenantRecord = {
    id: input.id ?? `ten_${newId("key").slice(4, 20).toLowerCase()}`,
    object: "tenant",
    name: input.name ?? null,
    created_at: seconds(now),
    limits: { ...NO_LIMITS, ...input.limits },
  };
  const secret: WebhookSecret = {
    id: newId("whs"),
    secret: generateWebhookSecret(),
    created_at_ms: now,
    expires_at_ms: null,
  };
  if (!(await deps.tenants.create(tenant, [secret], now))) {
    throw new ApiError(409, "tenant_exists", `A tenant with id '${tenant.id}' already exists.`, {
      param: "id",
    });
  }
  return { ...tenant, webhook_secret: secret.secret };
}

export async function updateTenant(
  deps: TenantDeps,
  id: string,
  patch: { name?: string | null | undefined; limits?: Partial<TenantLimits> | undefined },
): Promise<TenantRecord> {
  const current = await getTenant(deps, id);
  const next: TenantRecord = {
    ...current,
    name: patch.name === undefined ? current.name : patch.name,
    limits: { ...current.limits, ...patch.limits },
  };
  if (!(await deps.tenants.get(id))) await deps.tenants.create(next, [], deps.now());
  else await deps.tenants.update(next);
  return next;
}

export interface KeyRequest {
  name?: string | null | undefined;
  role: Role;
  assistant_ids?: string[] | null | undefined;
  rate_limit_per_min?: number | null | undefined;
}

/**
 * Issue a key. `issuer` is the operator, or a tenant key: that one cannot hand out more than it has
 * (a higher role, assistants outside its own scope, a looser rate limit); a key it issues without a
 * limit gets its own. A tenant holds at most MAX_KEYS_PER_TENANT live keys, whoever issues them.
 */
export async function issueKey(
  deps: TenantDeps,
  tenant: string,
  req: KeyRequest,
  issuer: Principal | "operator",
) {
  await getTenant(deps, tenant);
  const scope = req.assistant_ids ?? null;
  const limit = req.rate_limit_per_min ?? (issuer === "operator" ? null : issuer.rateLimitPerMin);
  if (issuer !== "operator")
    checkIssuer(issuer, { role: req.role, scope, limit }, deps.config.rateLimitPerMin);
  const key = generateApiKey();
  const record: ApiKeyRecord = {
    id: newId("key"),
    object: "api_key",
    tenant,
    name: req.name ?? null,
    role: req.role,
    assistant_ids: scope,
    rate_limit_per_min: limit,
    hint: keyHint(key),
    created_at: seconds(deps.now()),
    revoked_at: null,
    hash: await sha256Hex(key),
  };
  if (!(await deps.apiKeys.put(record, deps.config.maxKeysPerTenant))) {
    throw new ApiError(
      409,
      "key_limit_reached",
      `This tenant already holds ${deps.config.maxKeysPerTenant} live keys: revoke one first.`,
    );
  }
  return { ...publicKey(record), key };
}

/** Requests per minute a limit allows: null is the configured default, 0 is no limit. */
const perMinute = (limit: number | null, configured: number) => {
  const n = limit ?? configured;
  return n === 0 ? Number.POSITIVE_INFINITY : n;
};

function checkIssuer(
  issuer: Principal,
  wanted: { role: Role; scope: string[] | null; limit: number | null },
  configuredLimit: number,
): void {
  if (!roleAtLeast(issuer.role, wanted.role)) {
    throw new ApiError(
      403,
      "insufficient_role",
      `A '${issuer.role}' key cannot issue '${wanted.role}' keys.`,
      {
        param: "role",
      },
    );
  }
  if (!withinScope(issuer, wanted.scope)) {
    throw new ApiError(
      403,
      "assistant_not_allowed",
      "A scoped key can only issue keys within its own scope.",
      {
        param: "assistant_ids",
      },
    );
  }
  if (perMinute(wanted.limit, configuredLimit) > perMinute(issuer.rateLimitPerMin, configuredLimit)) {
    throw new ApiError(
      403,
      "rate_limit_not_allowed",
      "A key cannot issue a key with a higher rate limit than its own (0 means no limit).",
      { param: "rate_limit_per_min" },
    );
  }
}

const publicKey = ({ hash: _hash, ...rest }: ApiKeyRecord) => rest;

/** The tenant's keys: all of them for the operator or an unscoped key, else those within its scope. */
export async function listKeys(
  deps: TenantDeps,
  tenant: string,
  viewer: Principal | "operator" = "operator",
) {
  await getTenant(deps, tenant);
  const all = await deps.apiKeys.list(tenant);
  const visible = viewer === "operator" ? all : all.filter((k) => withinScope(viewer, k.assistant_ids));
  return { object: "list" as const, data: visible.map(publicKey) };
}

export async function revokeKey(
  deps: TenantDeps,
  tenant: string,
  keyId: string,
  revoker: Principal | "operator" = "operator",
) {
  const found = await deps.apiKeys.get(tenant, keyId);
  if (!found) throw notFound("api_key", keyId, "key_id");
  if (revoker !== "operator" && !withinScope(revoker, found.assistant_ids)) {
    throw new ApiError(403, "key_not_allowed", "A scoped key can only revoke keys within its own scope.", {
      param: "key_id",
    });
  }
  return publicKey(await deps.apiKeys.revoke(found, seconds(deps.now())));
}

/** The configured WEBHOOK_SECRET stands for tenant "default" until it has secrets of its own. */
function storedOrConfigured(
  config: Pick<TenantDeps["config"], "webhookSecret">,
  tenant: string,
  stored: WebhookSecret[],
): WebhookSecret[] {
  if (stored.length > 0 || tenant !== DEFAULT_TENANT || !config.webhookSecret) return stored;
  return [{ id: "whs_config", secret: config.webhookSecret, created_at_ms: 0, expires_at_ms: null }];
}

/** The secrets deliveries of this tenant are signed with now (one signature each). */
export async function signingSecrets(
  deps: Pick<TenantDeps, "tenants" | "config">,
  tenant: string,
  now: number,
): Promise<string[]> {
  return signingSecretsOf(deps.config, tenant, await deps.tenants.secrets(tenant), now);
}

/** `signingSecrets` from the tenant's stored secrets as read already (a step's claim reads them). */
export function signingSecretsOf(
  config: Pick<TenantDeps["config"], "webhookSecret">,
  tenant: string,
  stored: WebhookSecret[] | null,
  now: number,
): string[] {
  return liveSecrets(storedOrConfigured(config, tenant, stored ?? []), now).map((s) => s.secret);
}

export async function rotateWebhookSecret(deps: TenantDeps, tenant: string, windowS?: number | undefined) {
  await getTenant(deps, tenant);
  const now = deps.now();
  const fresh: WebhookSecret = {
    id: newId("whs"),
    secret: generateWebhookSecret(),
    created_at_ms: now,
    expires_at_ms: null,
  };
  const windowMs = (windowS ?? deps.config.secretRotationWindowS) * 1000;
  const stored = storedOrConfigured(deps.config, tenant, (await deps.tenants.secrets(tenant)) ?? []);
  const next = rotated(stored, fresh, now, windowMs);
  if (!(await deps.tenants.get(tenant))) await updateTenant(deps, tenant, {});
  await deps.tenants.setSecrets(tenant, next);
  return {
    object: "webhook_secret",
    webhook_secret: fresh.secret,
    ...publicSecret(fresh),
    secrets: next.map(publicSecret),
  };
}
