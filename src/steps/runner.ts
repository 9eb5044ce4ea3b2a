/**
 * Drives one run for one step delivery: claim the run (fencing seq + lease), then loop
 * engine → action → I/O → engine until the run is done, must wait, or the step's wall-time budget
 * is spent; then save, schedule the next step, and release the claim.
 */
import { createKey } from "../engine/call";
import { nextAction } from "../engine/next";
import { transition, withNote } from "../engine/run";
import { isTerminal, type RunRecord } from "../engine/types";
import { dieAt, WorkerDied } from "../config";
import { isQueueRefusal } from "../errors";

import { isUpstreamTerminal, type ObservedResponse, type ResponseRequest } from "../engine/upstream-types";
import {
  callsLeftOpen,
  LEFT_OPEN_OUTPUT,
  LOST_LOOKUP_ITEMS,
  looksBeforeCreate,
  lostResponseFromItems,
} from "../engine/lost-create";
import type { StepMessage } from "../queue/steps";
import { newId } from "../store/ids";
import { errorFields, log } from "../log";
import { UpstreamError } from "../upstream/openai";
import { kickDeliver, performAction, type Deps } from "./actions";
import { writeOutcome } from "./outcome";
import { finalText, progressEvents } from "../engine/progress";
import { claimWithWait } from "../store/claim";
import type { ClaimOutcome } from "../store/runs";
import type { WebhookSecret } from "../store/tenants";
import type { ActionContext, Release } from "./drive/types";
import {
  BUSY_RETRY_MS,
  CLAIM_FIRST_RETRY_MS,
  DELIVERY_TIMEOUT_MS,
  LEASE_MARGIN_MS,
  SHORT_CALL_MAX_MS,
  STEP_CLAIM_WAIT_MS,
  stepLeaseMs,
  TOOL_TIMEOUT_MAX_MS,
  UPSTREAM_CALL_MAX_MS,
} from "../engine/constants";
import type { Action } from "../engine/next";

export type StepOutcome = "done" | "scheduled" | "stale" | "missing" | "busy";

/** Where a `busy` outcome says when to come back (the route answers 503 with that Retry-After). */
export interface BusyReport {
  retryAfterMs: number | null;
}

/** The claim a step takes: a short base lease (constants.ts `stepLeaseMs`), extended before long actions. */
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
    return await drive(deps, msg, claim.run, owner, claim.at, claim.run, claim.secrets);
  } catch (err) {
    // Let QStash's redelivery of this step claim the run at once instead of after the lease (a
    // Worker that died lets go of nothing: its lease runs out).
    if (!(err instanceof WorkerDied)) await deps.runs.unlock(claim.run, owner).catch(() => {});
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
    if (counted !== run) {
      // Its tokens reach the month now if the run's release has counted its usage already (a
      // response that ended after its run did); once per response, so a redelivery adds nothing.
      await deps.runs.countLateUsage(run, counted, response.id);
      await deps.runs.save(counted, owner, false);
    }
    // A redelivery after this message's step could not finish the run's end: finish it here.
    if (endUnfinished(counted, nextAction(counted, deps.now()).type))
      return driveClaimed(deps, { ...response.owner, seq }, counted, owner, claim.at, claim.secrets);
    await deps.runs.unlock(run, owner);
    return "stale";
  }
  try {
    // With the answer, a run that asked for `message.delta` gets its last one (engine/progress.ts).
    const fed = finalText(
      transition(run, { type: "response_observed", response, cursor: null }, deps.now()),
      deps.now(),
    );
    // The run ended before its response did (cancelled, expired): its release may have counted its
    // usage already, so the response's tokens go to the month here (once; nothing if not yet).
    if (isTerminal(run.status) && fed.usage.total_tokens !== run.usage.total_tokens)
      await deps.runs.countLateUsage(run, fed, response.id);
    return await drive(deps, { ...response.owner, seq }, fed, owner, claim.at, run, claim.secrets);
  } catch (err) {
    if (!(err instanceof WorkerDied)) await deps.runs.unlock(run, owner).catch(() => {});
    throw err;
  }
}

/** Actions whose only I/O is a few Redis calls (and a QStash publish). */
const SHORT_ACTIONS = new Set(["take_held", "return_messages", "check_quota", "release_thread"]);

/**
 * The longest `action` may take from `now` (before the lease's margin): a create or a look at a
 * response may watch it until the budget's end and then wait for an answer; a tool round for its
 * slowest endpoint; a delivery for its timeout; anything else for one OpenAI call.
 */
export function actionLeaseMs(
  action: Exclude<Action, { type: "wait" | "done" }>,
  now: number,
  budgetEnd: number,
) {
  switch (action.type) {
    case "create_response":
    case "observe":
      return Math.max(0, budgetEnd - now) + UPSTREAM_CALL_MAX_MS;
    case "call_tools":
      return Math.max(0, ...action.calls.map((c) => c.endpoint?.timeout_ms ?? TOOL_TIMEOUT_MAX_MS));
    case "deliver":
      return DELIVERY_TIMEOUT_MS;
    default:
      return SHORT_ACTIONS.has(action.type) ? SHORT_CALL_MAX_MS : UPSTREAM_CALL_MAX_MS;
  }
}

/**
 * A step's hold on its run: the lease's end as this step last set it, and the save that extends
 * it. `need(ms)` makes the next save extend the lease to cover `ms` from then; `ensure()` saves
 * now only when the lease would end before that (one Redis call, and none when it still holds).
 */
export function leaseKeeper(
  deps: Pick<Deps, "runs" | "now" | "config">,
  owner: string,
  claimedAt: number,
  saveFn: SaveFn = (r, finish, at) => deps.runs.save(r, owner, finish, at),
  isSaved: (r: RunRecord) => boolean = () => false,
) {
  const base = stepLeaseMs(deps.config.drive.budgetMs);
  let until = claimedAt + base;
  let needMs = base;
  const saveWith = async (r: RunRecord, release?: Release) => {
    const now = deps.now();
    const leaseMs = Math.max(base, needMs + LEASE_MARGIN_MS);
    if ((await saveFn(r, false, { now, leaseMs }, release)) === null) throw new Error("lease lost");
    until = Math.max(until, now + leaseMs);
  };
  const save = (r: RunRecord) => saveWith(r);
  const ensure = async (run: RunRecord) => {
    if (until < deps.now() + needMs + LEASE_MARGIN_MS) await save(run);
  };
  return {
    save,
    /** A save that also releases the run's thread and slot (one request: RunStore.releaseSave). */
    saveReleasing: (r: RunRecord, release: Release) => saveWith(r, release),
    /** Save, unless `r` is the record this step saved last: then only as the lease needs. */
    saveIfChanged: (r: RunRecord) => (isSaved(r) ? ensure(r) : save(r)),
    need(ms: number) {
      needMs = ms;
    },
    /** The lease was extended to `untilMs` by a request other than a save (a start's reading). */
    extended(untilMs: number) {
      until = Math.max(until, untilMs);
    },
    /** Whether the lease still covers the need from now. */
    covers: () => until >= deps.now() + needMs + LEASE_MARGIN_MS,
    ensure,
  };
}

/**
 * A run that has ended with its end's work left to do (release, delivery, closing calls): a step
 * that took the answer could not finish it (QStash refused a publish, a Redis error), and the
 * message QStash redelivers for it (a call's callback, an ended response's) no longer matches. A
 * wait counts too (its callback's next attempt after a failed one): the step that saved it may have
 * failed on the publish of the step that would make that attempt, and nothing else would; driving
 * the run again schedules it (or its duplicate, which QStash drops, and the older one goes stale).
 */
export const endUnfinished = (run: RunRecord, next: string) => isTerminal(run.status) && next !== "done";

/** `drive`, letting go of the claim if it throws (unless the Worker died). */
export async function driveClaimed(
  deps: Deps,
  msg: StepMessage,
  run: RunRecord,
  owner: string,
  claimedAt?: number,
  secrets?: WebhookSecret[] | null,
): Promise<StepOutcome> {
  try {
    return await drive(deps, msg, run, owner, claimedAt, run, secrets);
  } catch (err) {
    if (!(err instanceof WorkerDied)) await deps.runs.unlock(run, owner).catch(() => {});
    throw err;
  }
}

/**
 * Drive a run this step has claimed (under `owner`, at `claimedAt`) from `claimed` on, as far as it
 * goes now. `stored`: the record as it is stored, when `claimed` already has what the step saw fed
 * in (its progress events are those since `stored`).
 */
export async function drive(
  deps: Deps,
  msg: StepMessage,
  claimed: RunRecord,
  owner: string,
  claimedAt: number = deps.now(),
  stored: RunRecord = claimed,
  secrets?: WebhookSecret[] | null,
): Promise<StepOutcome> {
  let run = claimed;
  const saver = progressSaver(deps, stored, owner);
  const lease = leaseKeeper(deps, owner, claimedAt, saver.save, saver.isSaved);
  const step: StepContext = {
    owner,
    secrets: claimSecrets(deps, msg.tenant, claimedAt, secrets),
  };
  try {
    return await driveLoop(deps, msg, claimed, saver.save, lease, step, (r) => {
      run = r;
    });
  } catch (err) {
    // QStash refused a publish (quota, rate limit): keep what the step did, say why in the timeline,
    // and answer 503 with Retry-After so QStash delivers this step again once it accepts messages.
    if (!isQueueRefusal(err)) throw err;
    const cause = `waiting: ${err.message} (the step is retried)`;
    await lease.save(withNote(run, deps.now(), cause));
    log("warn", "QStash refused a publish; the step will be retried", { run_id: run.id, code: err.code });
    throw err;
  }
}

type SaveFn = (
  r: RunRecord,
  finish: boolean,
  at: { now: number; leaseMs?: number },
  release?: Release,
) => Promise<number | null>;

/** What the step's actions take from its claim: the lease's holder, the tenant's signing secrets. */
interface StepContext {
  owner: string;
  secrets: (() => Promise<string[]>) | undefined;
}

/**
 * How long the secrets a claim read stand for the tenant's: a step that delivers soon after its
 * claim signs with them; one that delivers later (a long stream, tool rounds) reads them again, so
 * a rotation reaches its deliveries as soon as before.
 */
const CLAIM_SECRETS_FRESH_MS = SHORT_CALL_MAX_MS;

function claimSecrets(
  deps: Deps,
  tenant: string,
  claimedAt: number,
  stored: WebhookSecret[] | null | undefined,
): (() => Promise<string[]>) | undefined {
  const from = deps.signingSecretsFrom;
  if (stored === undefined || !from) return undefined;
  return async () => {
    const now = deps.now();
    return now - claimedAt <= CLAIM_SECRETS_FRESH_MS
      ? from(tenant, stored, now)
      : await deps.webhookSecrets(tenant);
  };
}

/**
 * How far a run's start (`take_held`, which reads ahead for the quota check and the conversation's
 * lookup: StartAhead) extends the lease: for the conversation's create that follows (an OpenAI
 * call), with the short actions before it, so that no save of its own extends it.
 */
const START_LEASE_MS = UPSTREAM_CALL_MAX_MS + LEASE_MARGIN_MS + SHORT_CALL_MAX_MS;

/**
 * Saves of one step: each appends the progress events the run made since the step's last save
 * (engine/progress.ts) in the same script, and publishes a deliver step when the outbox has none due.
 * A save that carries a delivery's outcome the step has not saved yet is tried again when it fails
 * (steps/outcome.ts): the receiver has the event, and a failed step would send it again.
 */
function progressSaver(
  deps: Deps,
  claimed: RunRecord,
  owner: string,
): { save: SaveFn; isSaved: (r: RunRecord) => boolean } {
  let saved = claimed;
  return {
    isSaved: (r) => r === saved,
    async save(r, finish, at, release) {
      const events = progressEvents(saved, r);
      const releaseSave = deps.runs.releaseSave?.bind(deps.runs);
      if (release && !releaseSave) throw new Error("this run store cannot save with a release");
      // A save with a release that was written is not written again when what follows it fails (a
      // refused publish of the next run's start, a Redis error handing slots on): the reconciler
      // hands free slots on, and a save that carries a delivery's outcome must not fail the step.
      let written: { seq: number | null; kick: boolean } | null = null;
      const onSaved = (w: { seq: number | null; kick: boolean }) => {
        written = w;
      };
      // A conversation the run made rides with its first save (saveWith); a store without it, or a
      // release (rare: the run ends before its create's intent is saved), writes it first.
      const conversation = conversationUnsaved(saved, r);
      const ownWrite = async (id: string | null) => {
        if (id) await deps.threads.setConversationId(r.tenant, r.thread_id, id);
      };
      const write = async () => {
        if (written) return written;
        if (release && releaseSave) {
          await ownWrite(conversation);
          return await releaseSave(r, release.answer, release.startNext, {
            owner,
            at,
            progress: events,
            onSaved,
          });
        }
        if (deps.runs.saveWith) return await deps.runs.saveWith(r, owner, finish, at, events, conversation);
        await ownWrite(conversation);
        return { seq: await deps.runs.save(r, owner, finish, at), kick: false };
      };
      const { seq, kick } = deliveryUnsaved(saved, r)
        ? await writeOutcome(deps, { run_id: r.id, event_id: r.delivery.event_id }, write)
        : await write();
      if (seq === null) return null;
      saved = r;
      if (kick) await kickDeliver(deps, r, at.now);
      return seq;
    },
  };
}

/**
 * The conversation `r` made that `saved` does not have yet (steps/actions.ts ensureConversation):
 * its thread learns it with this save.
 */
export function conversationUnsaved(saved: RunRecord, r: RunRecord): string | null {
  const id = r.upstream.conversation_id;
  return r.upstream.conversation_made === true && id && id !== saved.upstream.conversation_id ? id : null;
}

/** Whether `r` holds a delivery attempt (or a merged caller's delivery) that `saved` does not. */
export function deliveryUnsaved(saved: RunRecord, r: RunRecord): boolean {
  const a = saved.delivery.attempts;
  const b = r.delivery.attempts;
  const last = b.at(-1);
  const newAttempt = last !== undefined && (a.length !== b.length || a.at(-1)?.at_ms !== last.at_ms);
  return newAttempt || (r.fanout?.sent.length ?? 0) !== (saved.fanout?.sent.length ?? 0);
}

async function driveLoop(
  deps: Deps,
  msg: StepMessage,
  claimed: RunRecord,
  saveEnd: SaveFn,
  lease: ReturnType<typeof leaseKeeper>,
  step: StepContext,
  track: (r: RunRecord) => void,
): Promise<StepOutcome> {
  const save = lease.save;
  const budgetEnd = deps.now() + deps.config.drive.budgetMs;
  const ctx: ActionContext = {
    budgetEnd,
    save,
    saveReleasing: (r, release) => {
      // The save carries the run's end: its lease must hold through the delivery that follows (and
      // the moment before it), or the delivery would need a save of its own to extend it.
      lease.need(DELIVERY_TIMEOUT_MS + SHORT_CALL_MAX_MS);
      return lease.saveReleasing(r, release);
    },
    saveIfChanged: lease.saveIfChanged,
    start: { owner: step.owner, leaseMs: START_LEASE_MS, leaseExtended: lease.extended },
    ...(step.secrets ? { secrets: step.secrets } : {}),
  };
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
    // Past the budget, start nothing that may take long: the next step does it (a step's length
    // stays bounded: its budget and one long action).
    const long = LONG_ACTIONS.has(action.type);
    if (long && longDone && deps.now() >= budgetEnd) return finish(deps, saveEnd, run, msg.seq, 0);
    longDone ||= long;
    // The lease must hold until the action ends: extended here, in the save that comes first anyway
    // (a create's intent, a delivery's readable state) or in one of its own when it would not.
    lease.need(actionLeaseMs(action, deps.now(), budgetEnd));
    if (action.type === "create_response") {
      // An earlier attempt of this round whose answer was lost may have made a response that has
      // ended already (a running one answers `conversation_locked`): adopt it instead. And function
      // calls an earlier run left open in the conversation are closed, or OpenAI refuses the create.
      let lost: ObservedResponse | null;
      try {
        lost = await lookBeforeCreate(deps, run, action.request);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        // The round's outcome is as unknown as before the look: its intent stays.
        run = upstreamFailed(run, action, err, true, deps.now());
        continue;
      }
      if (lost) {
        log("warn", "adopted a lost create's response from the conversation", { run_id: run.id });
        run = transition(run, { type: "response_created", response: lost }, deps.now());
        await save(run);
        continue;
      }
      // The intent first: a create whose answer is lost must not become a second response.
      const first = !run.upstream.creating;
      run = transition(run, { type: "create_started", key: createKey(run) }, deps.now());
      await save(run);
      track(run);
      // A Worker killed here holds the run for the create's lease (the round's first attempt only).
      if (first) dieAt(deps.config, "after_create_intent");
    } else if (action.type !== "deliver") await lease.ensure(run);
    // A callback's step saves the run's end before it lets go of the slot (out of the reconciler's
    // sight): should it die after, the callback's retry finds the end, not the call it answered,
    // and hands the end to a drive step (called.ts). A store that saves with the release
    // (releaseSave) does both in one request already.
    if (action.type === "release_thread" && msg.unrescued && !deps.runs.releaseSave) await save(run);
    try {
      const result = await performAction(deps, run, action, ctx);
      run = result.run;
      track(run);
      if (result.yieldAfterMs !== null) return finish(deps, saveEnd, run, msg.seq, result.yieldAfterMs);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      const outcomeUnknown = action.type === "create_response" && answerUnseen(err);
      run = upstreamFailed(run, action, err, outcomeUnknown, deps.now());
    }
  }
}

/** An upstream call of `action` failed: the engine backs off, or fails the run. */
function upstreamFailed(
  run: RunRecord,
  action: Action,
  err: UpstreamError,
  outcomeUnknown: boolean,
  now: number,
): RunRecord {
  log("warn", "upstream call failed", {
    run_id: run.id,
    action: action.type,
    code: err.code,
    status: err.status,
  });
  return transition(
    run,
    {
      type: "upstream_failed",
      retryable: err.retryable,
      error: { code: err.code, message: err.message },
      retry_after_ms: err.retryAfterMs,
      outcome_unknown: outcomeUnknown,
    },
    now,
  );
}

/**
 * Before a create, when it must (engine/lost-create.ts `looksBeforeCreate`), one read of the
 * conversation's newest items: the round's response, when an earlier attempt's answer was lost and
 * it has ended (returned, to adopt); else the function calls left open in it are closed first.
 */
async function lookBeforeCreate(deps: Deps, run: RunRecord, request: ResponseRequest) {
  const why = looksBeforeCreate(run);
  const conversation = run.upstream.conversation_id;
  if (!why || !conversation) return null;
  const items = await deps.upstream.recentItems(conversation, LOST_LOOKUP_ITEMS);
  const lost =
    why === "retry"
      ? lostResponseFromItems(items, request.input, createKey(run), request.instructions)
      : null;
  if (lost) return lost;
  const open = callsLeftOpen(items, request.input);
  if (open.length > 0) {
    log("warn", "closed function calls left open in the conversation", { run_id: run.id, call_ids: open });
    await deps.upstream.addItems(
      conversation,
      open.map((call_id) => ({ type: "function_call_output" as const, call_id, output: LEFT_OPEN_OUTPUT })),
    );
  }
  return null;
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
