/**
 * Drives one run for one step delivery: claim the run (fencing seq + lease), then loop
 * engine → action → I/O → engine until the run is done, must wait, or the step's wall-time budget
 * is spent; then save, schedule the next step, and release the claim.
 */
import { createKey } from "../engine/call";
import { nextAction } from "../engine/next";
import { transition, withNote } from "../engine/run";
import { dieAt } from "../config";
import { isQueueRefusal } from "../errors";
import type { RunRecord } from "../engine/types";
import { isUpstreamTerminal, type ObservedResponse } from "../engine/upstream-types";
import type { StepMessage } from "../queue/steps";
import { newId } from "../store/ids";
import { errorFields, log } from "../log";
import { UpstreamError } from "../upstream/openai";
import { kickDeliver, performAction, type Deps } from "./actions";
import { finalText, progressEvents } from "../engine/progress";
import { claimWithWait } from "../store/claim";
import type { ClaimOutcome } from "../store/runs";
import { BUSY_RETRY_MS, CLAIM_FIRST_RETRY_MS, STEP_CLAIM_WAIT_MS, stepLeaseMs } from "../engine/constants";

export type StepOutcome = "done" | "scheduled" | "stale" | "missing" | "busy";

/** Where a `busy` outcome says when to come back (the route answers 503 with that Retry-After). */
export interface BusyReport {
  retryAfterMs: number | null;
}

/** The claim a step takes: its lease outlasts the step (constants.ts `stepLeaseMs`). */
export const stepClaim = (deps: Pick<Deps, "config">) => ({
  waitMs: STEP_CLAIM_WAIT_MS,
  retryMs: CLAIM_FIRST_RETRY_MS,
  leaseMs: stepLeaseMs(deps.config.drive.budgetMs),
});

/** A claim that did not succeed, as a step's outcome (a busy one reports when to come back). */
export function notClaimed(claim: Exclude<ClaimOutcome, { kind: "ok" }>, busy?: BusyReport): StepOutcome {
  if (claim.kind === "busy" && busy) busy.retryAfterMs = claim.retryAfterMs ?? BUSY_RETRY_MS;
  return claim.kind;
}

/** Actions that may outlast what is left of a budget (a create waits for its answer, tools for theirs). */
const LONG_ACTIONS = new Set(["create_response", "call_tools", "observe"]);

/** A failed create whose request may have made a response anyway: no answer, a timeout, a 5xx. */
const answerUnseen = (err: UpstreamError) => err.status === null || err.status === 408 || err.status >= 500;

/** Waits shorter than this (and inside the budget) are slept through instead of scheduled. */
const INLINE_WAIT_MAX_MS = 3_000;

export async function driveStep(deps: Deps, msg: StepMessage, busy?: BusyReport): Promise<StepOutcome> {
  const owner = newId("lease");
  const claim = await claimWithWait(deps, msg, owner, stepClaim(deps));
  if (claim.kind !== "ok") return notClaimed(claim, busy);
  try {
    return await drive(deps, msg, claim.run, owner);
  } catch (err) {
    // Let QStash's redelivery of this step claim the run at once instead of after the lease.
    await deps.runs.unlock(claim.run, owner).catch(() => {});
    throw err;
  }
}

/**
 * OpenAI says a response ended (its webhook): fetch it, claim its run (named in the response's
 * metadata) at whatever seq the run is at, feed the response in and drive on from there; the step
 * already scheduled for the run turns stale. A run that has moved past this response is untouched.
 */
export async function driveEnded(deps: Deps, responseId: string, busy?: BusyReport): Promise<StepOutcome> {
  let response: ObservedResponse;
  try {
    response = await deps.upstream.getResponse(responseId);
  } catch (err) {
    if (err instanceof UpstreamError && !err.retryable) return "missing"; // gone, or not ours
    throw err;
  }
  if (!response.owner) return "missing";
  const owner = newId("lease");
  const claim = await claimWithWait(deps, { ...response.owner, seq: null }, owner, stepClaim(deps));
  if (claim.kind !== "ok") return notClaimed(claim, busy);
  const { run, seq } = claim;
  if (run.upstream.response_id !== response.id || isUpstreamTerminal(run.upstream.response_status)) {
    // A response of this run that is not its round's (a second one that slipped through): its
    // tokens still count, once.
    const counted = transition(run, { type: "stray_response", response }, deps.now());
    if (counted !== run) await deps.runs.save(counted, owner, false);
    await deps.runs.unlock(run, owner);
    return "stale";
  }
  try {
    // With the answer, a run that asked for `message.delta` gets its last one (engine/progress.ts).
    const fed = finalText(
      transition(run, { type: "response_observed", response, cursor: null }, deps.now()),
      deps.now(),
    );
    return await drive(deps, { ...response.owner, seq }, fed, owner, run);
  } catch (err) {
    await deps.runs.unlock(run, owner).catch(() => {});
    throw err;
  }
}

/**
 * Drive a run this step has claimed (under `owner`) from `claimed` on, as far as it goes now.
 * `stored`: the record as it is stored, when `claimed` already has what the step saw fed in (its
 * progress events are those since `stored`).
 */
export async function drive(
  deps: Deps,
  msg: StepMessage,
  claimed: RunRecord,
  owner: string,
  stored: RunRecord = claimed,
): Promise<StepOutcome> {
  let run = claimed;
  const saver = progressSaver(deps, stored, owner);
  const save = async (r: RunRecord) => {
    // Each save renews the lease: a step that is still working keeps the run.
    const at = { now: deps.now(), leaseMs: stepLeaseMs(deps.config.drive.budgetMs) };
    if ((await saver.save(r, false, at)) === null) throw new Error("lease lost");
  };
  try {
    return await driveLoop(deps, msg, claimed, save, saver.save, (r) => {
      run = r;
    });
  } catch (err) {
    // QStash refused a publish (quota, rate limit): keep what the step did, say why in the timeline,
    // and answer 503 with Retry-After so QStash delivers this step again once it accepts messages.
    if (!isQueueRefusal(err)) throw err;
    const cause = `waiting: ${err.message} (the step is retried)`;
    await save(withNote(run, deps.now(), cause));
    log("warn", "QStash refused a publish; the step will be retried", { run_id: run.id, code: err.code });
    throw err;
  }
}

type SaveFn = (
  r: RunRecord,
  finish: boolean,
  at: { now: number; leaseMs?: number },
) => Promise<number | null>;

/**
 * Saves of one step: each appends the progress events the run made since the step's last save
 * (engine/progress.ts) in the same script, and publishes a deliver step when the outbox has none due.
 */
function progressSaver(deps: Deps, claimed: RunRecord, owner: string): { save: SaveFn } {
  let saved = claimed;
  return {
    async save(r, finish, at) {
      const events = progressEvents(saved, r);
      const { seq, kick } = deps.runs.saveWith
        ? await deps.runs.saveWith(r, owner, finish, at, events)
        : { seq: await deps.runs.save(r, owner, finish, at), kick: false };
      if (seq === null) return null;
      saved = r;
      if (kick) await kickDeliver(deps, r, at.now);
      return seq;
    },
  };
}

async function driveLoop(
  deps: Deps,
  msg: StepMessage,
  claimed: RunRecord,
  save: (r: RunRecord) => Promise<void>,
  saveEnd: SaveFn,
  track: (r: RunRecord) => void,
): Promise<StepOutcome> {
  const budgetEnd = deps.now() + deps.config.drive.budgetMs;
  let run = claimed;
  // Each step may start one long action whatever its budget (so a tiny budget still progresses).
  let longDone = false;
  for (;;) {
    track(run);
    run = transition(run, { type: "tick" }, deps.now());
    const action = nextAction(run, deps.now());
    if (action.type === "done") return finish(deps, saveEnd, run, msg.seq, null);
    if (action.type === "wait") {
      // QStash's callback with the call's answer wakes the run: nothing to schedule.
      if (action.call) return finish(deps, saveEnd, run, msg.seq, null);
      const ms = action.until_ms - deps.now();
      if (action.external || ms > INLINE_WAIT_MAX_MS || deps.now() + ms > budgetEnd)
        return finish(deps, saveEnd, run, msg.seq, ms);
      await deps.sleep(ms);
      continue;
    }
    // Past the budget, start nothing that may take long: the next step does it (a step's length,
    // and so its lease, stays bounded: see stepLeaseMs).
    const long = LONG_ACTIONS.has(action.type);
    if (long && longDone && deps.now() >= budgetEnd) return finish(deps, saveEnd, run, msg.seq, 0);
    longDone ||= long;
    if (action.type === "create_response") {
      // The intent first: a create whose answer is lost must not become a second response.
      run = transition(run, { type: "create_started", key: createKey(run) }, deps.now());
      await save(run);
      track(run);
    }
    try {
      const result = await performAction(deps, run, action, { budgetEnd, save });
      run = result.run;
      track(run);
      if (result.yieldAfterMs !== null) return finish(deps, saveEnd, run, msg.seq, result.yieldAfterMs);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      log("warn", "upstream call failed", {
        run_id: run.id,
        action: action.type,
        code: err.code,
        status: err.status,
      });
      const error = { code: err.code, message: err.message };
      const outcome_unknown = action.type === "create_response" && answerUnseen(err);
      run = transition(
        run,
        {
          type: "upstream_failed",
          retryable: err.retryable,
          error,
          retry_after_ms: err.retryAfterMs,
          outcome_unknown,
        },
        deps.now(),
      );
    }
  }
}

/**
 * Schedule the next step (if any) under the next seq, then save and end the claim. A next step that
 * arrives before the save finds its seq ahead of the record and waits for it (see CLAIM).
 */
async function finish(deps: Deps, saveEnd: SaveFn, run: RunRecord, seq: number, nextInMs: number | null) {
  if (nextInMs !== null) {
    const next = { tenant: run.tenant, run_id: run.id, seq: seq + 1 };
    await deps.queue.publish(next, { delayMs: Math.max(0, nextInMs), reason: "next" });
    dieAt(deps.config, "after_step_published");
  }
  if ((await saveEnd(run, true, { now: deps.now() })) === null) throw new Error("lease lost");
  log("debug", "step finished", { run_id: run.id, status: run.status, next_in_ms: nextInMs });
  return nextInMs === null ? ("done" as const) : ("scheduled" as const);
}

export function logStepError(msg: StepMessage, err: unknown): void {
  log("error", "step failed; QStash will retry it", {
    run_id: msg.run_id,
    seq: msg.seq,
    ...errorFields(err),
  });
}
