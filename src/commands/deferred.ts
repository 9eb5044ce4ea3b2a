/**
 * Delayed runs (`run_at` / `delay_s` on `POST /v1/messages`): the request is checked and stored now,
 * the caller gets `202` with the run as it will be (`queued`, `scheduled_for`), and QStash delivers
 * its start at the time (`Upstash-Not-Before`: no invocation is held). Then the stored request is
 * accepted like any message, under the announced run id, once: the start is idempotent (a
 * duplicate delivery finds the run created). Until then the run is read from its record here, and
 * cancelling it means it never starts. A start refused for good (the assistant was deleted, a
 * quota) leaves the run `failed` with the reason, and its callback gets `run.failed` (refused.ts).
 */
import { IDEMPOTENCY_TTL_S, RUN_TTL_S } from "../engine/constants";
import { createRunRecord } from "../engine/new-run";
import type { RunRecord } from "../engine/types";
import { ApiError, notFound } from "../errors";
import { errorFields, log } from "../log";
import type { StepQueue } from "../queue/steps";
import type { DeferredState } from "../store/deferred";
import { newId } from "../store/ids";
import type { AssistantStore, ThreadStore } from "../store/records";
import type { RunStore } from "../store/runs";
import { acceptRun, type IntakeDeps, type IntakeRequest } from "./intake";
import { type RefuseDeps, refusalError, refuseRun } from "./refused";

export interface DeferDeps {
  assistants: Pick<AssistantStore, "get">;
  threads: Pick<ThreadStore, "get" | "conversationThread">;
  runs: Pick<RunStore, "deferred" | "get">;
  queue: Pick<StepQueue, "publishDeferred">;
  now: () => number;
}

/** What is stored for a delayed run: the request to accept at its time and the run as announced. */
interface DeferredDoc {
  request: IntakeRequest;
  preview: RunRecord;
}

/** Check and store a delayed message; `202` material: the run as it will be, `queued`. */
export async function deferRun(
  deps: DeferDeps,
  req: IntakeRequest,
  runAtMs: number,
): Promise<{ run: RunRecord; replayed: boolean }> {
  const now = deps.now();
  const assistant = await deps.assistants.get(req.tenant, req.assistantId);
  if (!assistant) throw notFound("assistant", req.assistantId, "assistant_id");
  if (req.allowedAssistants && !req.allowedAssistants.includes(assistant.id))
    throw new ApiError(403, "assistant_not_allowed", "This key may not use this assistant.", {
      param: "assistant_id",
    });
  // The thread the run will have: the given one, the one its conversation key maps to (or will).
  const target = req.thread;
  let threadId: string;
  let request: IntakeRequest;
  if (target.kind === "id") {
    if (!(await deps.threads.get(req.tenant, target.threadId)))
      throw notFound("thread", target.threadId, "thread_id");
    threadId = target.threadId;
    request = req;
  } else if (target.kind === "conversation") {
    threadId = (await deps.threads.conversationThread(req.tenant, target.key)) ?? newId("thread");
    request = { ...req, thread: { ...target, freshId: threadId } };
  } else {
    threadId = newId("thread");
    request = { ...req, thread: { ...target, id: threadId } };
  }
  const runId = newId("run");
  const preview: RunRecord = {
    ...createRunRecord({
      id: runId,
      tenant: req.tenant,
      threadId,
      conversationKey: target.kind === "conversation" ? target.key : null,
      assistant,
      overrides: req.overrides,
      input: req.messages.map((m) => (typeof m.content === "string" ? m.content : "")).join("\n"),
      callback: req.callback,
      timeoutS: req.timeoutS,
      limits: req.limits,
      now,
    }),
    scheduled_for_ms: runAtMs,
  };
  const doc: DeferredDoc = { request: { ...request, runId, scheduledForMs: runAtMs }, preview };
  const idem = req.idempotency
    ? { key: req.idempotency.key, value: `${req.idempotency.bodyHash}|${runId}`, ttlS: IDEMPOTENCY_TTL_S }
    : null;
  const ttlS = Math.ceil((runAtMs - now) / 1000) + RUN_TTL_S;
  const put = await deps.runs.deferred.put(req.tenant, runId, JSON.stringify(doc), ttlS, idem);
  if (put.kind === "duplicate") {
    if (put.bodyHash !== req.idempotency?.bodyHash)
      throw new ApiError(
        409,
        "idempotency_key_reused",
        "This Idempotency-Key was already used with a different request body.",
        { param: "Idempotency-Key" },
      );
    const found = await findDeferredRun(deps, req.tenant, put.runId);
    if (!found)
      throw new ApiError(
        409,
        "idempotency_key_reused",
        "This Idempotency-Key belongs to a run that no longer exists.",
      );
    return { run: found, replayed: true };
  }
  try {
    await deps.queue.publishDeferred({ tenant: req.tenant, run_id: runId }, runAtMs / 1000);
  } catch (err) {
    log("error", "could not schedule a delayed run; it is withdrawn", { run_id: runId, ...errorFields(err) });
    await deps.runs.deferred.drop(req.tenant, runId, req.idempotency?.key ?? null).catch(() => {});
    throw new ApiError(
      503,
      "queue_unavailable",
      "The run could not be scheduled; nothing was accepted. Retry the request.",
    );
  }
  return { run: preview, replayed: false };
}

/** A delayed run that has not started (or never will), as a run; null when there is none. */
export async function findDeferredRun(
  deps: Pick<DeferDeps, "runs">,
  tenant: string,
  runId: string,
): Promise<RunRecord | null> {
  const rec = await deps.runs.deferred.get(tenant, runId);
  return rec.state === "missing" ? null : asRun(rec.state, rec.doc, rec.error);
}

function asRun(state: DeferredState, docText: string, errorText: string | null): RunRecord | null {
  let doc: DeferredDoc;
  try {
    doc = JSON.parse(docText) as DeferredDoc;
  } catch {
    return null;
  }
  const run = doc.preview;
  if (state !== "cancelled" && state !== "failed") return run;
  const at = Date.now();
  const last_error =
    state === "failed" ? ((errorText ? JSON.parse(errorText) : null) as RunRecord["last_error"]) : null;
  return {
    ...run,
    status: state,
    ended_at_ms: at,
    last_error,
    timeline: [
      ...run.timeline,
      { status: state, at_ms: at, cause: state === "cancelled" ? "cancel requested" : "could not start" },
    ],
  };
}

/** Cancel a delayed run before it starts; null when it has started (cancel the run itself then). */
export async function cancelDeferred(
  deps: Pick<DeferDeps, "runs">,
  tenant: string,
  runId: string,
): Promise<RunRecord | null> {
  const moved = await deps.runs.deferred.move(tenant, runId, "cancel");
  if (moved.state === "started" || moved.state === "missing") return null;
  if (moved.state !== "cancelled")
    throw new ApiError(400, "run_not_active", `Cannot cancel run with status '${moved.state}'.`, {
      param: "run_id",
    });
  return asRun("cancelled", moved.doc, null);
}

/**
 * QStash delivered a delayed run at its time: accept its request under the announced id. Repeats
 * find the run created (its idempotency key is the run id). Infrastructure errors propagate (QStash
 * retries); a refusal for good fails the run.
 */
export async function startDeferred(
  deps: IntakeDeps & Pick<DeferDeps, "runs"> & { runs: RefuseDeps["runs"] },
  tenant: string,
  runId: string,
): Promise<"started" | "cancelled" | "failed" | "missing"> {
  const taken = await deps.runs.deferred.move(tenant, runId, "take");
  if (taken.state !== "started") return taken.state === "pending" ? "missing" : taken.state;
  const doc = JSON.parse(taken.doc) as DeferredDoc;
  try {
    await acceptRun(deps, {
      ...doc.request,
      idempotency: { key: `deferred.${runId}`, bodyHash: "deferred" },
    });
    return "started";
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    log("warn", "a delayed run could not start", { run_id: runId, code: err.code, status: err.status });
    const error = refusalError(err);
    // The failed run (and its callback's step) first: a Worker that dies before the move below is
    // delivered this start again, and writes nothing twice.
    await refuseRun(deps, { ...doc.preview, id: runId }, error, null);
    await deps.runs.deferred.move(tenant, runId, "fail", JSON.stringify(error));
    return "failed";
  }
}
