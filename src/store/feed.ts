/**
 * The run's event feed in Redis: a list of the run's events (the callbacks' event objects, JSON),
 * oldest first, at most FEED_MAX_EVENTS, kept as long as the run. A save whose run stands for an
 * event appends it in the same script as the save (`saveRun` in store/scripts.ts: no extra round
 * trip), once: the run hash remembers the last event id appended.
 */
import { FEED_MAX_EVENTS } from "../engine/events";
import type { CallbackEvent } from "../engine/present";
import { keys } from "./keys";
import type { Redis } from "./redis";

export const FEED_LIMIT = FEED_MAX_EVENTS;

/** The run's feed, oldest first (empty when the run has none yet or is gone). */
export async function readFeed(redis: Redis, tenant: string, runId: string): Promise<CallbackEvent[]> {
  const raw = (await redis.lrange(keys.runEvents(tenant, runId), 0, -1)) as unknown[];
  return raw.flatMap((r) => {
    try {
      return typeof r === "string" ? [JSON.parse(r) as CallbackEvent] : [];
    } catch {
      return [];
    }
  });
}
