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
  const seen = lastEventId === null ? -1 : events.findIndex((e) => e.id === lastEventId);
  const rest = events.slice(seen + 1);
  return { events: rest, ended: events.some(isEndEvent) };
}

/** The terminal event of a run (`run.completed`, `run.failed`, …): not in_progress or requires_action. */
export const isEndEvent = (e: CallbackEvent) =>
  e.type !== "run.in_progress" && e.type !== "run.requires_action";
