/**
 * `budget-poll`: create the response, then poll it inside the step's wall-time budget with an
 * interval that grows with the response's age (young responses finish soon and are polled often),
 * then yield to the next step.
 */
import { POLL_MAX_INTERVAL_MS, POLL_MIN_INTERVAL_MS } from "../../engine/constants";
import type { RunRecord } from "../../engine/types";
import { isUpstreamTerminal } from "../../engine/upstream-types";
import type { ActionContext, ActionResult } from "./types";
import { createInBackground, observed } from "./shared";
import type { Drive, DriveDeps } from "./types";

/** Interval after a response has been running for `ageMs`: ~10% of its age, within bounds. */
export function pollIntervalMs(ageMs: number): number {
  return Math.min(POLL_MAX_INTERVAL_MS, Math.max(POLL_MIN_INTERVAL_MS, Math.round(ageMs / 10)));
}

async function pollWithinBudget(
  deps: DriveDeps,
  run: RunRecord,
  responseId: string,
  ctx: ActionContext,
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

export const budgetPoll: Drive = {
  // The runner goes on at once: its next action is `observe`, which polls.
  start: async (deps, run, request, ctx) => ({
    run: await createInBackground(deps, run, request, ctx),
    yieldAfterMs: null,
  }),
  follow: (deps, run, responseId, _cursor, ctx) => pollWithinBudget(deps, run, responseId, ctx),
};
