// Refusal modes: QStash's daily message quota and its burst rate limit, answered as the real
// service does (429 with `RateLimit-*` or `Burst-RateLimit-*` headers, which `@upstash/qstash` turns
// into QstashDailyRatelimitError / QstashRatelimitError). Off unless configured.
import type { Reply } from "./http.ts";

export type QuotaOptions = {
  /** Publish requests accepted per UTC day (each batch element counts); then 429 until midnight UTC. */
  dailyMessages?: number;
  /** Publish requests accepted per one-second window; then 429 until the next second. */
  burstPerSecond?: number;
};

export type QuotaStats = { dailyRefused: number; burstRefused: number; usedToday: number };

const DAY_MS = 86_400_000;

export function createQuota(initial: QuotaOptions = {}) {
  let opts: QuotaOptions = { ...initial };
  let day = Math.floor(Date.now() / DAY_MS);
  let usedToday = 0;
  let second = 0;
  let inSecond = 0;
  const stats = { dailyRefused: 0, burstRefused: 0 };

  /** Count `count` publishes at `now`, or the 429 that refuses them (nothing is counted then). */
  function take(count: number, now = Date.now()): Reply | null {
    const today = Math.floor(now / DAY_MS);
    if (today !== day) {
      day = today;
      usedToday = 0;
    }
    const thisSecond = Math.floor(now / 1000);
    if (thisSecond !== second) {
      second = thisSecond;
      inSecond = 0;
    }
    const daily = opts.dailyMessages;
    if (daily !== undefined && usedToday + count > daily) {
      stats.dailyRefused++;
      return refusal("Exceeded daily rate limit", {
        "RateLimit-Limit": String(daily),
        "RateLimit-Remaining": String(Math.max(0, daily - usedToday)),
        "RateLimit-Reset": String(((today + 1) * DAY_MS) / 1000),
      });
    }
    const burst = opts.burstPerSecond;
    if (burst !== undefined && inSecond + count > burst) {
      stats.burstRefused++;
      return refusal("Exceeded burst rate limit", {
        "Burst-RateLimit-Limit": String(burst),
        "Burst-RateLimit-Remaining": String(Math.max(0, burst - inSecond)),
        "Burst-RateLimit-Reset": String(thisSecond + 1),
      });
    }
    usedToday += count;
    inSecond += count;
    return null;
  }

  return {
    take,
    /** Replace the limits (an empty object turns refusals off); the day's count is kept. */
    set(next: QuotaOptions) {
      opts = { ...next };
    },
    /** Forget what was used today (a new day, as far as the quota goes). */
    resetUsage() {
      usedToday = 0;
      inSecond = 0;
    },
    stats: (): QuotaStats => ({ ...stats, usedToday }),
  };
}

const refusal = (message: string, headers: Record<string, string>): Reply => ({
  status: 429,
  headers,
  body: { error: message },
});
