/**
 * The run's event feed in Redis: a list of the run's events (the callbacks' event objects, JSON),
 * oldest first, at most FEED_MAX_EVENTS, kept as long as the run. A save whose run stands for an
 * event appends it in the same script as the save (no extra round trip), once: the run hash
 * remembers the last event id appended.
 */
import { FEED_MAX_EVENTS } from "../engine/events";
import type { CallbackEvent } from "../engine/present";
import { keys } from "./keys";
import { defineScript } from "./lua";
import type { Redis } from "./redis";

/**
 * Save a run (as `saveRun`) and append `event` (id `eventId`) to its feed unless it is the last
 * one appended. → the run's seq, or -1 when `owner` does not hold the lease (nothing written).
 */
export const saveRunWithEvent = defineScript({
  name: "save_with_event",
  keys: ["run", "feed"],
  args: ["owner", "doc", "finish", "ttlS", "eventId", "event", "maxEvents"],
  body: `
if redis.call('HGET', run, 'lease') ~= owner then return -1 end
redis.call('HSET', run, 'doc', doc)
redis.call('EXPIRE', run, tonumber(ttlS))
if redis.call('HGET', run, 'feed_last') ~= eventId then
  redis.call('HSET', run, 'feed_last', eventId)
  redis.call('RPUSH', feed, event)
  redis.call('LTRIM', feed, -tonumber(maxEvents), -1)
  redis.call('EXPIRE', feed, tonumber(ttlS))
end
if finish == '1' then
  redis.call('HDEL', run, 'lease', 'lease_until')
  return redis.call('HINCRBY', run, 'seq', 1)
end
return tonumber(redis.call('HGET', run, 'seq'))
`,
});

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
