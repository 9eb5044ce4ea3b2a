/** Commands on an existing run: read it (within a key's scope), cancel, redeliver, answer tool calls. */
import { ApiError, notFound } from "../errors";
import { cancelDeferred, findDeferredRun } from "./deferred";
import { transition } from "../engine/run";
import { checkCallerOutputs } from "../engine/tools";
import { type ProgressDelivery, presentStep } from "../engine/present";
import { isTerminal, type RunRecord } from "../engine/types";
import type { StepQueue } from "../queue/steps";
import { assertAssistantAllowed, keyMayUse, type Principal } from "../security/principal";
import { claimWithWait } from "../store/claim";
import { newId } from "../store/ids";
import { type ListParams, pageOf } from "../store/list";
import type { ThreadStore } from "../store/records";
import type { RunStore } from "../store/runs";
import type { Upstream } from "../upstream/openai";
import { errorFields, log } from "../log";
import type { ThreadAccessDeps } from "./thread-access";
import { loadThread } from "./threads";
import { visiblePage } from "./visible-page";

export interface ControlDeps {
  runs: Pick<
    RunStore,
    "get" | "claim" | "save" | "requestCancel" | "unqueue" | "unlock" | "setMetadata" | "deferred"
  >;
  queue: Pick<StepQueue, "publish">;
  upstream: Pick<Upstream, "cancelResponse">;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export type RunReader = Pick<RunStore, "get">;

/** The run as stored now, or null (an observer such as the Assistants stream re-reads it). */
export async function findRun(deps: { runs: RunReader }, tenant: string, runId: string) {
  return (await deps.runs.get(tenant, runId))?.run ?? null;
}

async function loadRun(deps: Pick<ControlDeps, "runs">, tenant: string, runId: string) {
  const found = await deps.runs.get(tenant, runId);
  if (found) return { ...found, deferred: false };
  // A delayed run that has not started yet (commands/deferred.ts).
  const waiting = await findDeferredRun(deps, tenant, runId);
  if (!waiting) throw notFound("run", runId, "run_id");
  return { run: waiting, seq: 0, deferred: true };
}

/**
 * The run a key names: 404 when it is not the key's tenant's (or, with `threadId`, not on that
 * thread), 403 when the key is scoped to assistants that do not include the run's. Every route that
 * names a run loads it through here.
 */
/** Where a run must be found: with `threadId`, only on that thread (the Assistants paths). */
export interface RunScope {
  threadId?: string;
}

export async function loadRunFor(
  deps: Pick<ControlDeps, "runs">,
  principal: Principal,
  runId: string,
  scope: RunScope = {},
) {
  const found = await loadRun(deps, principal.tenant, runId);
  if (scope.threadId !== undefined && found.run.thread_id !== scope.threadId)
    throw notFound("run", runId, "run_id");
  assertAssistantAllowed(principal, found.run.assistant_id, "run_id");
  return found;
}

/**
 * How a run's progress events are being delivered (its outbox), or null for a run without them:
 * one Redis read, only for such a run.
 */
export async function progressDelivery(
  deps: { runs: Pick<RunStore, "outbox"> },
  run: RunRecord,
): Promise<ProgressDelivery | null> {
  if (!run.progress || !run.callback) return null;
  const s = await deps.runs.outbox.summary(run.tenant, run.id);
  if (!s) return null;
  return {
    events: s.events,
    delivered: s.delivered,
    failed: s.failed,
    pending: Math.max(0, s.events - s.done),
    last_error: s.last_error,
  };
}

/** A run's steps as a list page (Assistants `run.step` objects). */
export function listRunSteps(run: RunRecord, params: ListParams) {
  return pageOf(
    run.steps.map((s) => presentStep(run, s)),
    params,
  );
}

/** Runs of a thread the key may see (a key scoped to some assistants sees their runs only). */
export async function listThreadRuns(
  deps: ThreadAccessDeps & { threads: Pick<ThreadStore, "get"> },
  principal: Principal,
  threadId: string,
  params: ListParams,
) {
  const thread = await loadThread(deps, principal, threadId);
  const list = (p: ListParams) => deps.runs.list(principal.tenant, thread.id, p);
  if (principal.assistantIds === null) return list(params);
  return visiblePage(list, (r) => keyMayUse(principal, r.assistant_id), params);
}

export async function setRunMetadata(
  deps: Pick<ControlDeps, "runs">,
  run: RunRecord,
  metadata: Record<string, string> | null | undefined,
): Promise<RunRecord> {
  if (metadata === undefined) return run;
  const next = metadata ?? {};
  await deps.runs.setMetadata(run.tenant, run.id, next);
  return { ...run, params: { ...run.params, metadata: next } };
}

/**
 * Ask a run to stop. The flag is read by the next step; the upstream response is cancelled right
 * away so a step watching it sees the end at once; a step is published to finish the run.
 */
export async function cancelRun(
  deps: ControlDeps,
  principal: Principal,
  runId: string,
  scope: RunScope = {},
): Promise<RunRecord> {
  const { run, seq, deferred } = await loadRunFor(deps, principal, runId, scope);
  const { tenant } = run;
  if (deferred && !isTerminal(run.status)) {
    const cancelled = await cancelDeferred(deps, tenant, runId);
    if (cancelled) return cancelled;
    // Started meanwhile: cancel the run itself once it is written.
    if (await deps.runs.get(tenant, runId)) return cancelRun(deps, principal, runId, scope);
    throw new ApiError(409, "run_busy", "The run is starting right now; retry in a moment.");
  }
  if (isTerminal(run.status)) {
    throw new ApiError(400, "run_not_active", `Cannot cancel run with status '${run.status}'.`, {
      param: "run_id",
    });
  }
  await deps.runs.requestCancel(tenant, runId);
  const wasQueued = await deps.runs.unqueue(run);
  const responseId = run.upstream.response_id;
  if (responseId) {
    await deps.upstream
      .cancelResponse(responseId)
      .catch((err: unknown) =>
        log("warn", "upstream cancel failed; the step will retry it", { run_id: runId, ...errorFields(err) }),
      );
  }
  await deps.queue.publish(
    { tenant, run_id: runId, seq: wasQueued ? 0 : seq },
    { delayMs: 0, reason: "cancel" },
  );
  const now = deps.now();
  return transition({ ...run, cancel_requested: true }, { type: "tick" }, now);
}

/** Send a finished run's event again (a new delivery cycle with the same event id). */
export async function redeliver(deps: ControlDeps, principal: Principal, runId: string): Promise<RunRecord> {
  const { run } = await loadRunFor(deps, principal, runId);
  const { tenant } = run;
  if ((!run.callback && !run.fanout?.targets.length) || !run.delivery.event_id) {
    throw new ApiError(400, "nothing_to_deliver", "This run has no callback event to deliver (yet).", {
      param: "run_id",
    });
  }
  return underClaim(deps, tenant, runId, "redeliver", (claimed) =>
    transition(claimed, { type: "redeliver" }, deps.now()),
  );
}

export type ToolOutput = { tool_call_id: string; output: string };

/** Answer the open function calls of a run in requires_action; all of them, in one request. */
export async function submitToolOutputs(
  deps: ControlDeps,
  principal: Principal,
  runId: string,
  outputs: ToolOutput[],
  scope: RunScope = {},
): Promise<RunRecord> {
  const { tenant } = (await loadRunFor(deps, principal, runId, scope)).run;
  return underClaim(deps, tenant, runId, "tool_outputs", (run) => {
    if (run.status !== "requires_action") {
      throw new ApiError(
        400,
        "run_not_waiting",
        `Runs in status "${run.status}" do not accept tool outputs.`,
        { param: "run_id" },
      );
    }
    const problem = checkCallerOutputs(run, outputs);
    if (problem) throw new ApiError(400, "invalid_tool_outputs", problem, { param: "tool_outputs" });
    return transition(run, { type: "tool_outputs_submitted", outputs }, deps.now());
  });
}

/** How long an API call waits for a step that holds the run (then 409 `run_busy`). */
const API_CLAIM_WAIT = { waitMs: 3_000, retryMs: 25 };

/**
 * Change a run from the API the way a step does: claim it at its current seq, apply `change`,
 * publish a step for the next seq and save. Nothing is saved when `change` throws.
 */
async function underClaim(
  deps: ControlDeps,
  tenant: string,
  runId: string,
  reason: string,
  change: (run: RunRecord) => RunRecord,
): Promise<RunRecord> {
  const owner = newId("lease");
  const claim = await claimWithWait(deps, { tenant, run_id: runId, seq: null }, owner, API_CLAIM_WAIT);
  if (claim.kind === "missing") throw notFound("run", runId, "run_id");
  if (claim.kind !== "ok")
    throw new ApiError(409, "run_busy", "The run is being worked on right now; retry in a moment.");
  let next: RunRecord;
  try {
    next = change(claim.run);
  } catch (err) {
    await deps.runs.unlock(claim.run, owner);
    throw err;
  }
  await deps.queue.publish({ tenant, run_id: runId, seq: claim.seq + 1 }, { delayMs: 0, reason });
  if ((await deps.runs.save(next, owner, true)) === null) throw new Error("lease lost");
  return next;
}
