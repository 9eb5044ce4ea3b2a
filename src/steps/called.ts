/**
 * QStash's callback with the answer to a call it made for a run (the `call` strategy): OpenAI's
 * response (the round's), an error OpenAI answered, or no answer at all. Claims the run at whatever
 * seq it is at, checks that the callback answers the attempt the run waits for (a late or duplicate
 * callback changes nothing), feeds the answer to the engine and drives on from there.
 *
 * How exactly one response per round holds: the call is published once per attempt (its key names
 * the round and attempt, and QStash deduplicates a second publish of it), with no QStash retries. A
 * new attempt follows only an answer OpenAI gave — an error status, so no response was made or it
 * failed, and a failed response adds nothing to the conversation. No answer (QStash lost the
 * connection, or its timeout at the run's deadline ended the call) means the response may exist:
 * the round is not created again; the run fails (or expires at its deadline).
 */
import { WorkerDied } from "../config";
import { callbackMatches } from "../engine/call";
import { nextAction } from "../engine/next";
import { transition } from "../engine/run";
import { isTerminal, type RunRecord } from "../engine/types";
import { log } from "../log";
import { BUSY_RETRY_MS, CALLBACK_CLAIM_MAX_ATTEMPTS, CALLBACK_CLAIM_WAIT_MS } from "../engine/constants";
import { claimWithWait } from "../store/claim";
import { newId } from "../store/ids";
import { readCallAnswer } from "../upstream/openai";
import type { Deps } from "./actions";
import {
  type BusyReport,
  drive,
  driveClaimed,
  endUnfinished,
  notClaimed,
  type StepOutcome,
  stepClaim,
} from "./runner";

/** What QStash reports of one call: OpenAI's HTTP status (0: no answer), headers and body text. */
export interface CallReport {
  status: number;
  header: Record<string, string[]>;
  body: string;
  error: string | null;
}

/** What the callback drives the run as: not a drive step (QStash's callback retries run out, unrescued). */
const stepOf = (ref: { tenant: string; run_id: string }) => ({
  tenant: ref.tenant,
  run_id: ref.run_id,
  unrescued: true,
});

/**
 * A callback refused as busy is retried by QStash 3 times, and then nothing: for a run whose end is
 * saved (the step that took the answer saves it before letting go of the slot, runner.ts), the step
 * holding the lease may have died before the end's callback went out, and the run, out of its slot,
 * is out of the reconciler's sight too. Hand the end to a drive step (QStash retries and rescues
 * those) at the run's seq once the lease is over: it finishes the end, or finds nothing to do. The
 * answer itself no longer matters to an ended run that does not wait for it. One QStash message,
 * only then. → whether it did.
 */
async function handEndOn(
  deps: Deps,
  ref: { tenant: string; run_id: string; key: string },
  leaseLeftMs: number | null,
): Promise<boolean> {
  const stored = await deps.runs.get?.(ref.tenant, ref.run_id);
  // A run that ended while the call ran (a cancel) still waits for this answer: left to QStash's retries.
  if (!stored || !isTerminal(stored.run.status) || callbackMatches(stored.run, ref.key, false)) return false;
  await deps.queue.publish(
    { tenant: ref.tenant, run_id: ref.run_id, seq: stored.seq },
    { delayMs: leaseLeftMs ?? BUSY_RETRY_MS, reason: "end" },
  );
  log("warn", "a callback for an ended run met a busy lease; a drive step finishes its end", {
    run_id: ref.run_id,
  });
  return true;
}

export async function driveCalled(
  deps: Deps,
  ref: { tenant: string; run_id: string; key: string },
  report: CallReport,
  busy?: BusyReport,
): Promise<StepOutcome> {
  const owner = newId("lease");
  const target = { tenant: ref.tenant, run_id: ref.run_id, seq: null };
  const claim = await claimWithWait(deps, target, owner, {
    ...stepClaim(deps),
    waitMs: CALLBACK_CLAIM_WAIT_MS,
    maxAttempts: CALLBACK_CLAIM_MAX_ATTEMPTS,
  });
  if (claim.kind === "busy" && (await handEndOn(deps, ref, claim.retryAfterMs))) return "scheduled";
  if (claim.kind !== "ok") return notClaimed(claim, busy);
  const { run, seq } = claim;
  // The run's next move would be this round's create (its conversation may not be saved yet either),
  // or it waits to make it, the create's intent saved (a backoff after a look that failed): the call
  // it would send has this callback's key, and QStash would drop its publish as a copy.
  const next = nextAction(run, deps.now()).type;
  const wouldCreate =
    next === "create_response" ||
    next === "create_conversation" ||
    next === "check_quota" ||
    next === "take_held" ||
    (next === "wait" && Boolean(run.upstream.creating));
  if (!callbackMatches(run, ref.key, wouldCreate)) {
    // The answer was taken, and the run ended, but the step that took it could not finish its end
    // (QStash refused a publish, a Redis error): QStash redelivers this callback, now for an attempt
    // the run no longer waits for. Finish the end here, or nothing drives the run again.
    if (endUnfinished(run, next))
      return driveClaimed(deps, { ...stepOf(ref), seq }, run, owner, claim.at, claim.secrets);
    await deps.runs.unlock(run, owner);
    if (report.status >= 200 && report.status < 300)
      log("warn", "a call's answer came for an attempt the run no longer waits for", {
        run_id: run.id,
        key: ref.key,
      });
    return "stale";
  }
  try {
    const fed = await feed(deps, run, report);
    return await drive(deps, { ...stepOf(ref), seq }, fed, owner, claim.at, run, claim.secrets);
  } catch (err) {
    if (!(err instanceof WorkerDied)) await deps.runs.unlock(run, owner).catch(() => {});
    throw err;
  }

  async function feed(d: Deps, claimed: RunRecord, rep: CallReport): Promise<RunRecord> {
    const now = d.now();
    // Time first: a run whose deadline passed while the model worked has expired, whatever came.
    const r = transition(claimed, { type: "tick" }, now);
    if (!(rep.status >= 100 && rep.status < 600)) {
      const why = rep.error ?? "no answer";
      const message = `QStash got no answer from OpenAI (${why}); the response may exist, so it is not created again.`;
      return transition(r, { type: "call_lost", error: { code: "upstream_outcome_unknown", message } }, now);
    }
    const answer = readCallAnswer(rep.status, rep.header, rep.body);
    if (answer.kind === "error") {
      const { error } = answer;
      log("warn", "a call's create was refused by OpenAI", {
        run_id: r.id,
        code: error.code,
        status: error.status,
      });
      return transition(
        r,
        {
          type: "upstream_failed",
          retryable: error.retryable,
          error: { code: error.code, message: error.message },
          retry_after_ms: error.retryAfterMs,
          via_call: true,
        },
        now,
      );
    }
    const response =
      answer.kind === "response" ? answer.response : await d.upstream.getResponse(answer.responseId);
    return transition(r, { type: "response_created", response }, d.now());
  }
}
