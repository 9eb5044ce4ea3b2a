/**
 * `stream`: create the response as a stream (or resume its stream from the saved cursor) and read
 * its events until it ends, the step's wall-time budget is spent or the run's deadline passes; the
 * next step resumes from the cursor.
 */
import { needsStream, textWritten } from "../../engine/progress";
import { transition } from "../../engine/run";
import type { RunRecord } from "../../engine/types";
import { isUpstreamTerminal, type ObservedResponse } from "../../engine/upstream-types";
import { UpstreamError, type Watched } from "../../upstream/openai";
import type { ActionContext, ActionResult } from "./types";
import { observed } from "./shared";
import type { Drive, DriveDeps } from "./types";

export const stream: Drive = {
  async start(deps, run, request, ctx) {
    const progress = progressSaver(deps, run, ctx);
    const watched = await deps.upstream.createAndStream(
      request,
      watchUntil(run, ctx),
      progress.onProgress,
      progress.onText,
    );
    // Not `response_id === null`: from the second round on it still names the previous round's.
    if (progress.current().upstream.creating) {
      throw new UpstreamError({
        message: "stream ended before the response was created (its outcome is unknown)",
        code: "server_error",
        retryable: true,
        status: null,
        retryAfterMs: null,
      });
    }
    return afterWatch(deps, progress.current(), watched, ctx);
  },
  async follow(deps, run, responseId, cursor, ctx) {
    const progress = progressSaver(deps, run, ctx);
    const watched = await deps.upstream.streamResponse(
      responseId,
      cursor,
      watchUntil(run, ctx),
      progress.onProgress,
      progress.onText,
    );
    return afterWatch(deps, progress.current(), watched, ctx);
  },
};

/**
 * Feeds a stream's lifecycle events to the engine and saves when the run changes (the response id
 * must be durable before anything else happens; `in_progress` is worth showing to readers).
 */
function progressSaver(deps: DriveDeps, run: RunRecord, ctx: ActionContext) {
  let current = run;
  return {
    current: () => current,
    onProgress: async (r: ObservedResponse, cursor: number) => {
      const before = current;
      const event =
        current.upstream.response_id === r.id
          ? { type: "response_observed" as const, response: r, cursor }
          : { type: "response_created" as const, response: r };
      current = transition(current, event, deps.now());
      if (current.status !== before.status || current.upstream.response_id !== before.upstream.response_id)
        await ctx.save(current);
    },
    // Only for a run that asked for `message.delta`: the text so far, saved (with the event it
    // makes, engine/progress.ts) at most once per the run's interval.
    onText: needsStream(run)
      ? async (delta: string, cursor: number) => {
          const id = current.upstream.response_id;
          if (!id) return;
          const made = current.progress?.deltas ?? 0;
          const written = textWritten(current, id, delta, deps.now());
          current = { ...written, upstream: { ...written.upstream, stream_cursor: cursor } };
          if ((current.progress?.deltas ?? 0) > made) await ctx.save(current);
        }
      : undefined,
  };
}

/** Watch a response until the step's budget ends or the run's deadline, whichever comes first. */
const watchUntil = (run: RunRecord, ctx: ActionContext) => Math.min(ctx.budgetEnd, run.deadline_ms);

/** After streaming: a terminal event ends it; a stream that closed early (a cancelled response has no terminal stream event) is checked with one GET. */
async function afterWatch(
  deps: DriveDeps,
  run: RunRecord,
  watched: Watched,
  ctx: ActionContext,
): Promise<ActionResult> {
  if (watched.response)
    return { run: observed(deps, run, watched.response, watched.cursor), yieldAfterMs: null };
  const next = {
    ...run,
    upstream: { ...run.upstream, stream_cursor: watched.cursor ?? run.upstream.stream_cursor },
  };
  if (deps.now() >= run.deadline_ms) return { run: next, yieldAfterMs: null }; // the runner expires it
  const closedEarly = deps.now() < watchUntil(run, ctx);
  if (closedEarly && next.upstream.response_id) {
    const r = await deps.upstream.getResponse(next.upstream.response_id);
    if (isUpstreamTerminal(r.status))
      return { run: observed(deps, next, r, watched.cursor), yieldAfterMs: null };
  }
  return { run: next, yieldAfterMs: 0 };
}
