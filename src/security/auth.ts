/**
 * Authentication and authorisation building blocks for every route group:
 *
 * - `requireKey`: resolves the bearer key to a principal — tenant, role,
 *   assistant scope — sets `c.var.tenant` and `c.var.principal`, and applies the key's rate limit.
 *   Keys are looked up in Redis on every request (no per-isolate cache), so a revocation holds from
 *   the next request on. The configured API_KEY is the bootstrap key: admin of tenant "default".
 * - `requireRole("editor")`: 403 unless the key's role is at least that.
 * - `assertAssistantAllowed(c.var.principal, id)`: 403 unless the key may use that assistant.
 * - `requireOperator`: the operator key from config, for /v1/admin.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app";
import { type Config, requireConfig } from "../config";
import { ApiError } from "../errors";
import { stores } from "../services";
import { keys } from "../store/keys";
import { bearer, looksLikeApiKey, sameSecret, sha256Hex } from "./credentials";
import { takeToken } from "./rate-limit";
import { type Role, roleAtLeast } from "./roles";

export const DEFAULT_TENANT = "default";
/** The key id the bootstrap key (config API_KEY) is known by. */
export const BOOTSTRAP_KEY_ID = "bootstrap";

export interface Principal {
  tenant: string;
  keyId: string;
  role: Role;
  /** Assistants the key may use; null = every assistant of its tenant. */
  assistantIds: string[] | null;
  /** Requests per minute; null = RATE_LIMIT_PER_MIN. */
  rateLimitPerMin: number | null;
}

export type AuthedEnv = AppEnv & { Variables: { tenant: string; principal: Principal } };

const invalidKey = () =>
  new ApiError(401, "invalid_api_key", "Missing or invalid API key. Send 'Authorization: Bearer <key>'.");

async function resolvePrincipal(config: Config, presented: string): Promise<Principal> {
  if (!presented) throw invalidKey();
  if (config.apiKey && (await sameSecret(presented, config.apiKey))) {
    return {
      tenant: DEFAULT_TENANT,
      keyId: BOOTSTRAP_KEY_ID,
      role: "admin",
      assistantIds: null,
      rateLimitPerMin: null,
    };
  }
  if (!looksLikeApiKey(presented)) throw invalidKey();
  const record = await stores(config).apiKeys.resolve(await sha256Hex(presented));
  if (!record || record.revoked_at !== null) throw invalidKey();
  return {
    tenant: record.tenant,
    keyId: record.id,
    role: record.role,
    assistantIds: record.assistant_ids,
    rateLimitPerMin: record.rate_limit_per_min,
  };
}

export const requireKey = createMiddleware<AuthedEnv>(async (c, next) => {
  // Applied twice to one request (e.g. "/v1/x" and "/v1/x/*" both match "/v1/x"): once is enough.
  if (c.get("principal")) return next();
  const config = requireConfig(c.env);
  const principal = await resolvePrincipal(config, bearer(c.req.header("authorization")));
  c.set("tenant", principal.tenant);
  c.set("principal", principal);
  await rateLimit(c, config, principal);
  await next();
});

async function rateLimit(c: Context, config: Config, p: Principal): Promise<void> {
  const perMinute = p.rateLimitPerMin ?? config.rateLimitPerMin;
  if (perMinute <= 0 || !config.redis) return;
  const verdict = await takeToken(
    stores(config).redis,
    keys.rateLimitId(p.tenant, p.keyId),
    perMinute,
    Date.now(),
  );
  for (const [name, value] of Object.entries(verdict.headers)) c.header(name, value);
  if (!verdict.ok) {
    throw new ApiError(429, "rate_limited", `Rate limit of ${perMinute} requests per minute reached.`, {
      headers: verdict.headers,
    });
  }
}

export const requireRole = (role: Role) =>
  createMiddleware<AuthedEnv>(async (c, next) => {
    if (!roleAtLeast(c.var.principal.role, role)) {
      throw new ApiError(
        403,
        "insufficient_role",
        `This key's role '${c.var.principal.role}' cannot do this; it needs '${role}'.`,
      );
    }
    await next();
  });

export const keyMayUse = (p: Principal, assistantId: string) =>
  p.assistantIds === null || p.assistantIds.includes(assistantId);

export function assertAssistantAllowed(p: Principal, assistantId: string, param = "assistant_id"): void {
  if (!keyMayUse(p, assistantId)) {
    throw new ApiError(403, "assistant_not_allowed", "This key may not use this assistant.", { param });
  }
}

export const requireOperator = createMiddleware<AppEnv>(async (c, next) => {
  const config = requireConfig(c.env);
  if (!config.operatorKey) {
    throw new ApiError(
      503,
      "service_not_configured",
      "OPERATOR_KEY is not configured: the admin API is off.",
    );
  }
  const presented = bearer(c.req.header("authorization"));
  if (!presented || !(await sameSecret(presented, config.operatorKey))) {
    throw new ApiError(
      401,
      "invalid_operator_key",
      "The admin API needs 'Authorization: Bearer <operator key>'.",
    );
  }
  await next();
});
