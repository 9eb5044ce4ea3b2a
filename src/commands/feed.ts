/**
 * A run's event feed (`GET /v1/runs/{id}/events`): the events stored with the run (store/feed.ts)
 * after the one a client last saw. A run that ended before it had a feed still shows its end.
 */
import { buildFeedEvent, type CallbackEvent } from "../engine/present";
import { isTerminal, type RunRecord } from "../engine/types";
import type { RunStore } from "../store/runs";

export interface FeedDeps {
  runs: Pick<RunStore, "feed">;
}

export interface FeedPage {
  events: CallbackEvent[];
  /** The run's terminal event is among the events: the feed ends with them. */
  ended: boolean;
}

/**
 * The feed's events after `lastEventId` (all of them without one, or when that event is no longer
 * kept: a client drops ids it has seen). `run` is the record read when the stream opened.
 */
export async function feedAfter(
  deps: FeedDeps,
  run: RunRecord,
  lastEventId: string | null,
): Promise<FeedPage> {
  const events = await deps.runs.feed(run.tenant, run.id);
  const end = isTerminal(run.status) ? buildFeedEvent(run) : null;
  if (end && !events.some((e) => e.id === end.id)) events.push(end);
  const seen = lastEventId === null ? -1 : resumeAt(events, lastEventId);
  const rest = events.slice(seen + 1);
  return { events: rest, ended: events.some(isEndEvent) };
}

/** The terminal event of a run (`run.completed`, `run.failed`, …). */
const END_TYPES = new Set(
  ["completed", "failed", "cancelled", "expired", "incomplete"].map((s) => `run.${s}`),
);
export const isEndEvent = (e: CallbackEvent) => END_TYPES.has(e.type);

/**
 * The index of the event a client saw last (-1: none kept). The feed keeps only the last of
 * consecutive `message.delta` events (each replaces the one before: store/outbox-lua.ts), so a
 * delta no longer kept was followed by the one that replaced it: resume just before that one.
 */
function resumeAt(events: CallbackEvent[], lastEventId: string): number {
  const at = events.findIndex((e) => e.id === lastEventId);
  if (at >= 0) return at;
  const n = deltaNumber(lastEventId);
  if (n === null) return -1;
  const later = events.findIndex((e) => e.type === "message.delta" && (deltaNumber(e.id) ?? 0) > n);
  return later >= 0 ? later - 1 : -1;
}

/** A delta's number from its id (`evt_…_d7` → 7), else null. */
function deltaNumber(id: string): number | null {
  const m = /_d(\d+)$/.exec(id);
  return m ? Number(m[1]) : null;
}
