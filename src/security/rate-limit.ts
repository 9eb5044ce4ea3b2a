/**
 * Per-key request rate limits with `@upstash/ratelimit` (sliding window of one minute), and the
 * `RateLimit-*` / `Retry-After` headers that report them. If Redis does not answer within
 * RATE_LIMIT_TIMEOUT_MS the request passes (the limiter's own fail-open), it is not refused.
 */
import { Ratelimit } from "@upstash/ratelimit";
import { RATE_LIMIT_PREFIX } from "../store/keys";
import type { Redis } from "../store/redis";

const WINDOW = "60 s";
const RATE_LIMIT_TIMEOUT_MS = 1_000;

export interface RateVerdict {
  ok: boolean;
  headers: Record<string, string>;
}

/** One limiter per (Redis client, limit), kept for the isolate: its cache of blocked keys helps. */
const limiters = new WeakMap<Redis, Map<number, Ratelimit>>();

function limiterFor(redis: Redis, perMinute: number): Ratelimit {
  let byLimit = limiters.get(redis);
  if (!byLimit) {
    byLimit = new Map();
    limiters.set(redis, byLimit);
  }
  let limiter = byLimit.get(perMinute);
  if (!limiter) {
    limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(perMinute, WINDOW),
      prefix: RATE_LIMIT_PREFIX,
      timeout: RATE_LIMIT_TIMEOUT_MS,
    });
    byLimit.set(perMinute, limiter);
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
