/**
 * `call`: QStash makes the round's create itself — a foreground `POST /v1/responses` with the API key
 * forwarded (`Upstash-Forward-Authorization`), no retries, `Upstash-Timeout` at the run's deadline —
 * and holds the connection while the model works (up to the plan's maximum: 15 min on QStash Free,
 * 2 h pay-as-you-go). OpenAI answers when the response has ended; QStash POSTs that answer to the
 * signed `called` route (steps/called.ts), which finishes the run. The Worker holds nothing and
 * polls nothing: a round costs two invocations (this step and the callback), one upstream request
 * and two QStash messages (the call and its callback).
 *
 * A run whose time left is longer than QStash holds a call (`QSTASH_CALL_MAX_S`) is driven by
 * polling instead: a background response, looked at less and less often as it ages.
 */
import { CALL_TIMEOUT_MARGIN_S } from "../../config";
import { callKey } from "../../engine/call";
import { SECOND_MS, STEP_POLL_DELAY_S } from "../../engine/constants";
import { transition } from "../../engine/run";
import type { RunRecord } from "../../engine/types";
import { hasInput } from "../../engine/upstream-types";
import { onePollPerStep } from "./shared";
import type { Drive } from "./types";

/** The fallback's wait between looks: a quarter of the response's age, from 2 s to 1 min. */
const FALLBACK_MAX_WAIT_MS = 60 * SECOND_MS;
export function fallbackPollMs(run: RunRecord, now: number): number {
  const age = now - (run.upstream.response_started_at_ms ?? now);
  const wait = Math.min(FALLBACK_MAX_WAIT_MS, Math.max(STEP_POLL_DELAY_S * SECOND_MS, Math.round(age / 4)));
  return Math.max(0, Math.min(wait, run.deadline_ms - now));
}
const fallback = onePollPerStep(fallbackPollMs);

export const call: Drive = {
  async start(deps, run, request, ctx) {
    const now = deps.now();
    const timeoutS = (run.deadline_ms - now) / 1000 + CALL_TIMEOUT_MARGIN_S;
    if (timeoutS > deps.config.drive.callMaxS) return fallback.start(deps, run, request, ctx);
    // A round with nothing new (the assistant speaks first, a retry, "regenerate"): the Worker
    // creates it, where an upstream that insists on an `input` gets a nudge instead (upstream/), and
    // polls it. Such rounds are rare; QStash cannot retry a create with another body.
    if (!hasInput(request.input)) return fallback.start(deps, run, request, ctx);
    const key = callKey(run);
    await deps.queue.publishCall({
      request: deps.upstream.callRequest(request),
      ref: { tenant: run.tenant, run_id: run.id, key },
      timeoutS,
    });
    // The runner's next action is to wait for the callback: it saves this and ends the step. The
    // call is sent once QStash has it: timed before the publish, a publish slower than
    // CALL_LOOK_MIN_MS would make the call look overdue to this very step, which would read the
    // conversation and take a response that ended there without its usage (engine/next.ts awaitCall).
    const sentAt = deps.now();
    const next = transition(run, { type: "call_sent", key, until_ms: sentAt + timeoutS * 1000 }, sentAt);
    return { run: next, yieldAfterMs: null };
  },
  follow: (deps, run, responseId, cursor, ctx) => fallback.follow(deps, run, responseId, cursor, ctx),
};
