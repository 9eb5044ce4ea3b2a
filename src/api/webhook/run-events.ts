/**
 * `GET /v1/runs/{id}/events`: the run's events as Server-Sent Events, each with `id:` = the event's
 * id (the callbacks' `webhook-id`), replayed after `Last-Event-ID`, ending after the terminal event.
 * While the run goes on the stream re-reads the feed (one Redis request a read), soon and then every
 * 2 s, for at most EVENT_FEED_WINDOW_S (config) and FEED_MAX_READS reads: well inside a Worker's subrequest
 * budget. Then it ends with `retry:`, and the client reconnects with `Last-Event-ID`
 * (EventSource does by itself).
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { type FeedDeps, feedAfter } from "../../commands/feed";
import type { RunRecord } from "../../engine/types";
import { errorFields, log } from "../../log";

export interface FeedStreamDeps extends FeedDeps {
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/** Waits between re-reads of the feed: soon after the stream opens, then every 2 s. */
export const FEED_READ_DELAYS_MS = [250, 500, 1000, 2000];
/** Feed reads per stream, at most (Workers Free allows 50 subrequests per invocation). */
export const FEED_MAX_READS = 20;
/** The reconnect delay the stream advises when it ends before the run (SSE `retry:`). */
export const FEED_RETRY_MS = 1000;

export function feedStream(
  c: Context,
  deps: FeedStreamDeps,
  run: RunRecord,
  lastEventId: string | null,
  opts: { windowMs: number },
) {
  return streamSSE(c, async (stream) => {
    let aborted = false;
    stream.onAbort(() => {
      aborted = true;
    });
    const until = deps.now() + opts.windowMs;
    let last = lastEventId;
    try {
      for (let reads = 0; ; reads++) {
        const page = await feedAfter(deps, run, last);
        for (const e of page.events) {
          await stream.writeSSE({ id: e.id, event: e.type, data: JSON.stringify(e) });
          last = e.id;
        }
        if (page.ended || aborted) return;
        const delay = FEED_READ_DELAYS_MS[Math.min(reads, FEED_READ_DELAYS_MS.length - 1)] ?? 2000;
        if (reads + 1 >= FEED_MAX_READS || deps.now() + delay > until) break;
        await deps.sleep(delay);
        if (aborted) return;
      }
      // The run goes on: the client comes back with Last-Event-ID.
      await stream.writeSSE({
        event: "reconnect",
        data: JSON.stringify({ last_event_id: last }),
        retry: FEED_RETRY_MS,
      });
    } catch (err) {
      log("error", "run event feed failed", { run_id: run.id, ...errorFields(err) });
      await stream.writeSSE({
        event: "reconnect",
        data: JSON.stringify({ last_event_id: last }),
        retry: FEED_RETRY_MS,
      });
    }
  });
}
