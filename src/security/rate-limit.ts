/**
 * Rate limits with `@upstash/ratelimit` (sliding window of one minute): requests per key, with the
 * `RateLimit-*` / `Retry-After` headers that report them, and failed authentications per client
 * address (auth.ts). If Redis does not answer within RATE_LIMIT_TIMEOUT_MS the request passes (the
 * limiter's own fail-open), it is not refused.
 */
import { Ratelimit } from "@upstash/ratelimit";
import { GLOBAL_RATE_LIMIT_PREFIX, keys, RATE_LIMIT_PREFIX } from "../store/keys";
import type { Redis } from "../store/redis";

const WINDOW = "60 s";
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

function remember(client: string, resetMs: number, now: number): AuthVerdict {
  if (blockedUntil.size >= MAX_BLOCKED_REMEMBERED) blockedUntil.clear();
  blockedUntil.set(client, resetMs);
  return { blocked: true, retryAfterS: Math.max(1, Math.ceil((resetMs - now) / 1000)) };
}

/** Whether `client` has used up its failed authentications (reads, counts nothing). Fails open. */
export async function authThrottled(
  redis: Redis,
  client: string,
  perMinute: number,
  now: number,
): Promise<AuthVerdict> {
  const until = blockedUntil.get(client);
  if (until !== undefined && until > now) return remember(client, until, now);
  const limiter = limiterFor(redis, perMinute, GLOBAL_RATE_LIMIT_PREFIX);
  const left = await withinTimeout(limiter.getRemaining(keys.authFailuresId(client)));
  return left && left.remaining <= 0 ? remember(client, left.reset, now) : { blocked: false };
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
