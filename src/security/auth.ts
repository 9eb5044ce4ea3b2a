/**
 * Authentication middleware for every route group:
 *
 * - `requireKey`: resolves the bearer key to a principal (security/principal.ts) — tenant, role,
 *   assistant scope — sets `c.var.tenant` and `c.var.principal`, and applies the key's rate limit.
 *   Keys are looked up in Redis on every request (no per-isolate cache), so a revocation holds from
 *   the next request on. The configured API_KEY is the bootstrap key: admin of tenant "default".
 * - `requireRole("editor")`: 403 unless the key's role is at least that.
 * - `requireUnscoped`: 403 for keys scoped to assistants (tenant-wide powers: secrets, usage).
 * - `requireOperator`: the operator key from config, for /v1/admin and /health's details.
 *
 * Failed authentications are counted per client address (CF-Connecting-IP): past
 * AUTH_FAILURES_PER_MIN in a minute, every request from that address answers 429
 * `auth_rate_limited` — with a valid key too, so the 429 says nothing about whether a key exists.
 * The check rides with the key's rate limit in one Redis request after the key lookup.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv, Deps } from "../deps";
import { ApiError } from "../errors";
import { keys } from "../store/keys";
import { bearer, looksLikeApiKey, sameSecret, sha256Hex } from "./credentials";
import { BOOTSTRAP_KEY_ID, DEFAULT_TENANT, type Principal } from "./principal";
import {
  type AuthVerdict,
  admit,
  clientAddress,
  countAuthFailure,
  knownThrottled,
  type RateVerdict,
  takeToken,
} from "./rate-limit";
import { type Role, roleAtLeast } from "./roles";

export type AuthedEnv = AppEnv & {
  Variables: AppEnv["Variables"] & { tenant: string; principal: Principal };
};

const invalidKey = () =>
  new ApiError(401, "invalid_api_key", "Missing or invalid API key. Send 'Authorization: Bearer <key>'.");

async function resolvePrincipal(deps: Deps, presented: string): Promise<Principal> {
  if (!presented) throw invalidKey();
  const { apiKey } = deps.config;
  if (apiKey && (await sameSecret(presented, apiKey))) {
    return {
      tenant: DEFAULT_TENANT,
      keyId: BOOTSTRAP_KEY_ID,
      role: "admin",
      assistantIds: null,
      rateLimitPerMin: null,
    };
  }
  if (!looksLikeApiKey(presented)) throw invalidKey();
  const record = await deps.apiKeys.resolve(await sha256Hex(presented));
  if (!record || record.revoked_at !== null) throw invalidKey();
  return {
    tenant: record.tenant,
    keyId: record.id,
    role: record.role,
    assistantIds: record.assistant_ids,
    rateLimitPerMin: record.rate_limit_per_min,
  };
}

const throttled = (v: Extract<AuthVerdict, { blocked: true }>) =>
  new ApiError(
    429,
    "auth_rate_limited",
    `Too many failed authentication attempts from this address; retry in ${v.retryAfterS} s.`,
    { headers: { "Retry-After": String(v.retryAfterS) } },
  );

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/**
 * Authenticate with `check` (which throws a 401 on a wrong credential), throttled per client
 * address: refused with 429 while the address is over its failures, and a 401 counted. When the
 * credential will likely have a rate limit (`rateLikely`), one Redis request after a good credential
 * both reads the address's failures and takes a token of the key's limit (`rate`); otherwise the
 * read runs beside `check` (no added round trip). A wrong credential is counted by one request that
 * also tells whether the address is over (a count past the limit is refused, not added).
 */
async function authenticate<T>(
  deps: Deps,
  address: string | undefined,
  check: () => Promise<T>,
  rateLikely = false,
  rate: (value: T) => { identifier: string; perMinute: number } | null = () => null,
): Promise<{ value: T; rate: RateVerdict | null }> {
  const { config } = deps;
  const perMinute = config.authFailuresPerMin;
  const token = (limit: { identifier: string; perMinute: number } | null) =>
    limit && config.redis ? takeToken(deps.redis, limit.identifier, limit.perMinute, deps.now()) : null;
  if (perMinute <= 0 || !config.redis) {
    const value = await check();
    return { value, rate: await token(rate(value)) };
  }
  const { redis } = deps;
  const client = clientAddress(address);
  const now = deps.now();
  const known = knownThrottled(client, now);
  if (known) throw throttled(known);
  const beside = rateLikely ? null : admit(redis, client, perMinute, null, now);
  const outcome = await settle(check());
  if (!outcome.ok) {
    if (outcome.error instanceof ApiError && outcome.error.status === 401) {
      const counted = await countAuthFailure(redis, client, perMinute, now).catch(
        (): AuthVerdict => ({ blocked: false }),
      );
      if (counted.blocked) throw throttled(counted);
    }
    throw outcome.error;
  }
  const limit = rate(outcome.value);
  if (beside) {
    const [read, taken] = await Promise.all([beside, settle(Promise.resolve(token(limit)))]);
    if (read.auth.blocked) throw throttled(read.auth);
    if (!taken.ok) throw taken.error;
    return { value: outcome.value, rate: taken.value };
  }
  const admission = await admit(redis, client, perMinute, limit, now);
  if (admission.auth.blocked) throw throttled(admission.auth);
  return { value: outcome.value, rate: admission.rate };
}

export const requireKey = createMiddleware<AuthedEnv>(async (c, next) => {
  const { deps } = c.var;
  const { value: principal, rate } = await authenticate(
    deps,
    c.req.header("cf-connecting-ip"),
    () => resolvePrincipal(deps, bearer(c.req.header("authorization"))),
    deps.config.rateLimitPerMin > 0,
    (p) => {
      const perMinute = p.rateLimitPerMin ?? deps.config.rateLimitPerMin;
      return perMinute > 0 ? { identifier: keys.rateLimitId(p.tenant, p.keyId), perMinute } : null;
    },
  );
  if (rate) {
    for (const [name, value] of Object.entries(rate.headers)) c.header(name, value);
    if (!rate.ok) {
      const limit = rate.headers["RateLimit-Limit"];
      throw new ApiError(429, "rate_limited", `Rate limit of ${limit} requests per minute reached.`, {
        headers: rate.headers,
      });
    }
  }
  c.set("tenant", principal.tenant);
  c.set("principal", principal);
  await next();
});

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

export const requireUnscoped = createMiddleware<AuthedEnv>(async (c, next) => {
  if (c.var.principal.assistantIds !== null) {
    throw new ApiError(
      403,
      "scoped_key_not_allowed",
      "This acts on the whole tenant: it needs a key that is not scoped to assistants.",
    );
  }
  await next();
});

export const requireOperator = createMiddleware<AppEnv>(async (c, next) => {
  const { operatorKey } = c.var.deps.config;
  if (!operatorKey) {
    throw new ApiError(
      503,
      "service_not_configured",
      "OPERATOR_KEY is not configured: the admin API is off.",
    );
  }
  await authenticate(c.var.deps, c.req.header("cf-connecting-ip"), async () => {
    const presented = bearer(c.req.header("authorization"));
    if (!presented || !(await sameSecret(presented, operatorKey))) {
      throw new ApiError(
        401,
        "invalid_operator_key",
        "The admin API needs 'Authorization: Bearer <operator key>'.",
      );
    }
  });
  await next();
});

/** Whether an Authorization header carries the OPERATOR_KEY of a raw env (for when config is invalid). */
export async function operatorFromEnv(env: Record<string, unknown>, authorization: string): Promise<boolean> {
  const configured = typeof env.OPERATOR_KEY === "string" ? env.OPERATOR_KEY.trim() : "";
  const presented = bearer(authorization);
  return configured.length > 0 && presented.length > 0 && (await sameSecret(presented, configured));
}
