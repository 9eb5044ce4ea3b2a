/**
 * The budget-poll drive: poll a response inside the step's wall-time budget with an interval that
 * grows with the response's age (young responses finish soon and are polled often), then yield.
 */
import { POLL_MAX_INTERVAL_MS, POLL_MIN_INTERVAL_MS } from "../engine/constants";
import type { RunRecord } from "../engine/types";
import { isUpstreamTerminal, type ObservedResponse } from "../engine/upstream-types";
import type { ActionContext, ActionResult, Deps } from "./actions";

/** Interval after a response has been running for `ageMs`: ~10% of its age, within bounds. */
export function pollIntervalMs(ageMs: number): number {
  return Math.min(POLL_MAX_INTERVAL_MS, Math.max(POLL_MIN_INTERVAL_MS, Math.round(ageMs / 10)));
}

export async function drivePoll(
  deps: Deps,
  run: RunRecord,
  responseId: string,
  ctx: ActionContext,
  observed: (deps: Deps, run: RunRecord, r: ObservedResponse, cursor: number | null) => RunRecord,
): Promise<ActionResult> {
  let current = run;
  for (;;) {
    const r = await deps.upstream.getResponse(responseId);
    const before = current.status;
    current = observed(deps, current, r, null);
    if (isUpstreamTerminal(r.status)) return { run: current, yieldAfterMs: null };
    // Readers see `in_progress` while the model works, not only when the step ends.
    if (current.status !== before) await ctx.save(current);
    if (current.cancel_requested && !current.upstream.cancel_sent)
      return { run: current, yieldAfterMs: null };
    const now = deps.now();
    const until = Math.min(
      now + pollIntervalMs(now - (current.upstream.response_started_at_ms ?? now)),
      current.deadline_ms,
    );
    if (until >= ctx.budgetEnd) return { run: current, yieldAfterMs: until - now };
    await deps.sleep(until - now);
    // At the deadline the runner's next tick expires the run.
    if (deps.now() >= current.deadline_ms) return { run: current, yieldAfterMs: null };
  }
}
