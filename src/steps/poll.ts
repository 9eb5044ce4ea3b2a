/**
 * The polling drives. budget-poll: poll a response inside the step's wall-time budget with an
 * interval that grows with the response's age (young responses finish soon and are polled often),
 * then yield. poll and webhook: one poll per step, then a delayed next step.
 */
import type { Config } from "../config";
import {
  POLL_MAX_INTERVAL_MS,
  POLL_MIN_INTERVAL_MS,
  SAFETY_POLL_MAX_MS,
  SAFETY_POLL_MIN_MS,
  SECOND_MS,
  STEP_POLL_DELAY_S,
} from "../engine/constants";
import type { RunRecord } from "../engine/types";
import { isUpstreamTerminal, type ObservedResponse } from "../engine/upstream-types";
import type { ActionContext, ActionResult, Deps } from "./actions";

/**
 * For the strategies that poll once per step (`poll`, `webhook`), after the run observed its
 * response: null when the response ended, else how long until the next step. `webhook` polls only
 * as a safety net (its webhook wakes the run), never past the run's deadline.
 */
export function nextPollInMs(strategy: Config["drive"]["strategy"], run: RunRecord, now: number) {
  if (isUpstreamTerminal(run.upstream.response_status)) return null;
  if (strategy !== "webhook") return STEP_POLL_DELAY_S * SECOND_MS;
  const age = now - (run.upstream.response_started_at_ms ?? now);
  const wait = Math.min(SAFETY_POLL_MAX_MS, Math.max(SAFETY_POLL_MIN_MS, age));
  return Math.max(0, Math.min(wait, run.deadline_ms - now));
}

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
