/**
 * Rate limits with `@upstash/ratelimit` (sliding window of one minute): requests per key, with the
 * `RateLimit-*` / `Retry-After` headers that report them, and failed authentications per client
 * address (auth.ts). If Redis does not answer within RATE_LIMIT_TIMEOUT_MS the request passes (the
 * limiter's own fail-open), it is not refused; `admit`, the request's one combined check, also
 * passes when Redis answers an error (the key's lookup just before it answered).
 */
import { Ratelimit } from "@upstash/ratelimit";
import { GLOBAL_RATE_LIMIT_PREFIX, keys, RATE_LIMIT_PREFIX } from "../store/keys";
import { defineScript } from "../store/lua";
import type { Redis } from "../store/redis";

const WINDOW = "60 s";
const WINDOW_MS = 60_000;
const RATE_LIMIT_TIMEOUT_MS = 1_000;

export interface RateVerdict {
  ok: boolean;
  headers: Record<string, string>;
}

/** One limiter per (Redis client, prefix, limit), kept for the isolate: its cache of blocked keys helps. */
const limiters = new WeakMap<Redis, Map<string, Ratelimit>>();

function limiterFor(redis: Redis, perMinute: number, prefix = RATE_LIMIT_PREFIX): Ratelimit {
  let byLimit = limiters.get(redis);
  if (!byLimit) {
    byLimit = new Map();
    limiters.set(redis, byLimit);
  }
  let limiter = byLimit.get(`${prefix} ${perMinute}`);
  if (!limiter) {
    limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(perMinute, WINDOW),
      prefix,
      timeout: RATE_LIMIT_TIMEOUT_MS,
    });
    byLimit.set(`${prefix} ${perMinute}`, limiter);
  }
  return limiter;
}

/** Count one request of `identifier` against `perMinute` (0 = unlimited: nothing is counted). */
export async function takeToken(
  redis: Redis,
  identifier: string,
  perMinute: number,
  now: number,
): Promise<RateVerdict> {
  if (perMinute <= 0) return { ok: true, headers: {} };
  const r = await limiterFor(redis, perMinute).limit(identifier);
  const resetS = Math.max(0, Math.ceil((r.reset - now) / 1000));
  const headers: Record<string, string> = {
    "RateLimit-Limit": String(r.limit),
    "RateLimit-Remaining": String(Math.max(0, r.remaining)),
    "RateLimit-Reset": String(resetS),
  };
  if (!r.success) headers["Retry-After"] = String(Math.max(1, resetS));
  return { ok: r.success, headers };
}

/**
 * The address failed authentications are counted against: Cloudflare's `CF-Connecting-IP` (set by
 * its edge, not by the client), an IPv6 address by its /64 (one subscriber's network), or "unknown"
 * where there is no such header (local development).
 */
export function clientAddress(header: string | undefined): string {
  const ip = header?.trim().toLowerCase();
  if (!ip) return "unknown";
  if (!ip.includes(":")) return ip;
  const [head = "", tail] = ip.split("::");
  const left = head ? head.split(":") : [];
  const right = tail === undefined ? [] : tail ? tail.split(":") : [];
  const words = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${words
    .slice(0, 4)
    .map((w) => w.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** Whether an address is throttled now; seconds until it is not. */
export type AuthVerdict = { blocked: false } | { blocked: true; retryAfterS: number };

/** Addresses this isolate saw throttled, until when (ms): they are refused without a Redis call. */
const blockedUntil = new Map<string, number>();
const MAX_BLOCKED_REMEMBERED = 10_000;

function remember(client: string, resetMs: number, now: number): Extract<AuthVerdict, { blocked: true }> {
  if (blockedUntil.size >= MAX_BLOCKED_REMEMBERED) blockedUntil.clear();
  blockedUntil.set(client, resetMs);
  return { blocked: true, retryAfterS: Math.max(1, Math.ceil((resetMs - now) / 1000)) };
}

/** The verdict on `client` this isolate already knows (blocked until a time still ahead), if any. */
export function knownThrottled(client: string, now: number): Extract<AuthVerdict, { blocked: true }> | null {
  const until = blockedUntil.get(client);
  return until !== undefined && until > now ? remember(client, until, now) : null;
}

/** Count one failed authentication of `client`; blocked once it is over `perMinute`. */
export async function countAuthFailure(
  redis: Redis,
  client: string,
  perMinute: number,
  now: number,
): Promise<AuthVerdict> {
  const r = await limiterFor(redis, perMinute, GLOBAL_RATE_LIMIT_PREFIX).limit(keys.authFailuresId(client));
  return r.success ? { blocked: false } : remember(client, r.reset, now);
}

/** The promise's value, or null when it fails or takes longer than RATE_LIMIT_TIMEOUT_MS. */
async function withinTimeout<T>(p: Promise<T>): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(resolve, RATE_LIMIT_TIMEOUT_MS, null);
  });
  try {
    return await Promise.race([p, timeout]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An authenticated request's one limiter request: whether its address is over its failed
 * authentications (read, counted nothing) and, unless it is, one token of the key's rate limit. The
 * same sliding windows and keys as `@upstash/ratelimit`'s `slidingWindow` (its `getRemaining` and
 * `limit` scripts, which countAuthFailure and takeToken still run), so the two stay interchangeable;
 * `rateLimit` 0 takes no token. Replies `[failures left, tokens left]`, -1 tokens left when refused.
 */
const admitScript = defineScript({
  name: "admit",
  keys: ["authNow", "authBefore", "rateNow", "rateBefore"],
  args: ["authLimit", "rateLimit", "now", "window"],
  body: `
local into = (tonumber(now) % tonumber(window)) / tonumber(window)
local function used(current, previous)
  local cur = tonumber(redis.call("GET", current) or "0")
  local prev = tonumber(redis.call("GET", previous) or "0")
  return math.floor((1 - into) * prev) + cur
end
local authLeft = tonumber(authLimit) - used(authNow, authBefore)
local limit = tonumber(rateLimit)
if authLeft <= 0 or limit <= 0 then return {authLeft, 0} end
local taken = used(rateNow, rateBefore)
if taken >= limit then return {authLeft, -1} end
if redis.call("INCRBY", rateNow, 1) == 1 then redis.call("PEXPIRE", rateNow, tonumber(window) * 2 + 1000) end
return {authLeft, limit - taken - 1}
`,
});

const admitters = new WeakMap<Redis, ReturnType<typeof admitScript.bind<[number, number]>>>();

/** The verdicts of one admission: the address's, and the key's rate limit (null when not counted). */
export interface Admission {
  auth: AuthVerdict;
  rate: RateVerdict | null;
}

/**
 * One Redis request for an authenticated request: is `client` throttled for failed authentications
 * (then no token is taken), and, when `rate.perMinute` > 0, one token of `rate.identifier`. Fails
 * open (passes, no headers) when Redis errs or takes longer than RATE_LIMIT_TIMEOUT_MS.
 */
export async function admit(
  redis: Redis,
  client: string,
  authPerMinute: number,
  rate: { identifier: string; perMinute: number } | null,
  now: number,
): Promise<Admission> {
  const until = blockedUntil.get(client);
  if (until !== undefined && until > now) return { auth: remember(client, until, now), rate: null };
  const perMinute = rate && rate.perMinute > 0 ? rate.perMinute : 0;
  const rateId = rate ? `${RATE_LIMIT_PREFIX}:${rate.identifier}` : "";
  const rateBlocked = perMinute > 0 ? rateBlockedUntil.get(rateId) : undefined;
  const clock = Date.now();
  const bucket = Math.floor(clock / WINDOW_MS);
  const reset = (bucket + 1) * WINDOW_MS;
  const refused = (): RateVerdict => {
    const resetS = Math.max(0, Math.ceil((reset - now) / 1000));
    return {
      ok: false,
      headers: {
        "RateLimit-Limit": String(perMinute),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": String(resetS),
        "Retry-After": String(Math.max(1, resetS)),
      },
    };
  };
  const authId = `${GLOBAL_RATE_LIMIT_PREFIX}:${keys.authFailuresId(client)}`;
  // A key this isolate saw over its limit in this window is only checked for its address.
  const takes = perMinute > 0 && !(rateBlocked !== undefined && rateBlocked > clock);
  const rateBase = rate ? rateId : authId;
  let script = admitters.get(redis);
  if (!script) {
    script = admitScript.bind<[number, number]>(redis);
    admitters.set(redis, script);
  }
  const reply = await withinTimeout(
    script.exec({
      keys: {
        authNow: `${authId}:${bucket}`,
        authBefore: `${authId}:${bucket - 1}`,
        rateNow: `${rateBase}:${bucket}`,
        rateBefore: `${rateBase}:${bucket - 1}`,
      },
      args: { authLimit: authPerMinute, rateLimit: takes ? perMinute : 0, now: clock, window: WINDOW_MS },
    }),
  );
  if (!reply) return { auth: { blocked: false }, rate: null };
  const [authLeft, left] = reply;
  if (authLeft <= 0) return { auth: remember(client, reset, now), rate: null };
  if (perMinute <= 0) return { auth: { blocked: false }, rate: null };
  if (!takes) return { auth: { blocked: false }, rate: refused() };
  if (left < 0) {
    if (rateBlockedUntil.size >= MAX_BLOCKED_REMEMBERED) rateBlockedUntil.clear();
    rateBlockedUntil.set(rateId, reset);
    return { auth: { blocked: false }, rate: refused() };
  }
  const resetS = Math.max(0, Math.ceil((reset - now) / 1000));
  return {
    auth: { blocked: false },
    rate: {
      ok: true,
      headers: {
        "RateLimit-Limit": String(perMinute),
        "RateLimit-Remaining": String(Math.max(0, left)),
        "RateLimit-Reset": String(resetS),
      },
    },
  };
}

/** Rate-limited identifiers (with their prefix) this isolate saw refused, until when (ms). */
const rateBlockedUntil = new Map<string, number>();
