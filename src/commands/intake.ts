/**
 * Accepting a message: resolve the thread, write the run (idempotently, within the tenant's monthly
 * quotas) and, when its thread and an active-run slot are free, publish its first step. A returned
 * run is in Redis and its first step is in QStash, or it waits behind the thread's active run or
 * the tenant's active runs, whose end starts it.
 */
import { ApiError, notFound } from "../errors";
import { createRunRecord, type NewRunInput } from "../engine/new-run";
import type { RunInput, RunRecord } from "../engine/types";
import { msToNextMonth } from "../engine/usage";
import { errorFields, log } from "../log";
import type { StepQueue } from "../queue/steps";
import { newId } from "../store/ids";
import type { AssistantStore, ThreadRecord, ThreadStore } from "../store/records";
import type { RunStore } from "../store/runs";

export interface IntakeDeps {
  assistants: Pick<AssistantStore, "get">;
  threads: Pick<ThreadStore, "get" | "put" | "resolveConversation">;
  runs: Pick<RunStore, "create" | "get" | "abandon" | "pump">;
  queue: Pick<StepQueue, "publish">;
  now: () => number;
}

export interface IntakeRequest {
  tenant: string;
  assistantId: string;
  threadId?: string | undefined;
  conversationKey?: string | undefined;
  input: RunInput;
  overrides: NewRunInput["overrides"];
  callback: RunRecord["callback"];
  timeoutS: number;
  limits: NewRunInput["limits"];
  idempotency: { key: string; bodyHash: string } | null;
  /** The assistants the caller's key may use (null: all); checked after the tenant lookup (404 first). */
  allowedAssistants?: string[] | null | undefined;
}

export async function acceptMessage(
  deps: IntakeDeps,
  req: IntakeRequest,
): Promise<{ run: RunRecord; replayed: boolean }> {
  const now = deps.now();
  const assistant = await deps.assistants.get(req.tenant, req.assistantId);
  if (!assistant) throw notFound("assistant", req.assistantId, "assistant_id");
  if (req.allowedAssistants && !req.allowedAssistants.includes(assistant.id)) {
    throw new ApiError(403, "assistant_not_allowed", "This key may not use this assistant.", {
      param: "assistant_id",
    });
  }
  const threadId = await resolveThread(deps, req, now);
  const run = createRunRecord({
    id: newId("run"),
    tenant: req.tenant,
    threadId,
    conversationKey: req.conversationKey ?? null,
    assistant,
    overrides: req.overrides,
    input: req.input,
    callback: req.callback,
    timeoutS: req.timeoutS,
    limits: req.limits,
    now,
  });
  const outcome = await deps.runs.create(run, req.idempotency);
  if (outcome.kind === "duplicate") return replay(deps, req, outcome);
  if (outcome.kind === "quota") throw quotaExceeded(outcome, now);
  const idemKey = req.idempotency?.key ?? null;
  if (outcome.kind === "start")
    await publishOrWithdraw(deps, run, idemKey, () => publishStart(deps, run.tenant, run.id));
  // A slot is free while others wait for one (a stale slot was just freed): hand it on now, or
  // this run would wait behind runs nothing is going to start.
  if (outcome.kind === "waiting" && outcome.pump)
    await publishOrWithdraw(deps, run, idemKey, () =>
      deps.runs.pump(run.tenant, (id) => publishStart(deps, run.tenant, id)),
    );
  return { run, replayed: false };
}

function quotaExceeded(q: { quota: "runs" | "tokens"; limit: number }, now: number): ApiError {
  const what = q.quota === "runs" ? `${q.limit} runs` : `${q.limit} tokens`;
  return new ApiError(
    429,
    "quota_exceeded",
    `The monthly quota of ${what} is used up; it renews on the 1st (UTC).`,
    {
      headers: { "Retry-After": String(Math.ceil(msToNextMonth(now) / 1000)) },
    },
  );
}

const publishStart = (deps: IntakeDeps, tenant: string, runId: string) =>
  deps.queue.publish({ tenant, run_id: runId, seq: 0 }, { delayMs: 0, reason: "start" });

async function resolveThread(deps: IntakeDeps, req: IntakeRequest, now: number): Promise<string> {
  if (req.threadId) {
    if (!(await deps.threads.get(req.tenant, req.threadId)))
      throw notFound("thread", req.threadId, "thread_id");
    return req.threadId;
  }
  const fresh: ThreadRecord = {
    id: newId("thread"),
    object: "thread",
    created_at: Math.floor(now / 1000),
    metadata: {},
    tool_resources: {},
    conversation: req.conversationKey ?? null,
  };
  if (!req.conversationKey) {
    await deps.threads.put(req.tenant, fresh);
    return fresh.id;
  }
  return (await deps.threads.resolveConversation(req.tenant, req.conversationKey, fresh)).threadId;
}

async function replay(deps: IntakeDeps, req: IntakeRequest, dup: { runId: string; bodyHash: string }) {
  if (dup.bodyHash !== req.idempotency?.bodyHash) {
    throw new ApiError(
      409,
      "idempotency_key_reused",
      "This Idempotency-Key was already used with a different request body.",
      {
        param: "Idempotency-Key",
      },
    );
  }
  const found = await deps.runs.get(req.tenant, dup.runId);
  if (!found)
    throw new ApiError(
      409,
      "idempotency_key_reused",
      "This Idempotency-Key belongs to a run that no longer exists.",
    );
  return { run: found.run, replayed: true };
}

/**
 * Do what makes an accepted run move (publish its start step); if that fails, withdraw the run — its
 * thread and slot go to the next in line — and answer 503: nothing was accepted.
 */
async function publishOrWithdraw(
  deps: IntakeDeps,
  run: RunRecord,
  idemKey: string | null,
  publish: () => Promise<void>,
): Promise<void> {
  try {
    await publish();
  } catch (err) {
    log("error", "could not publish a run's first step; the run is withdrawn", {
      run_id: run.id,
      ...errorFields(err),
    });
    await deps.runs
      .abandon(run, idemKey, (id) => publishStart(deps, run.tenant, id))
      .catch((e: unknown) =>
        log("error", "could not start the next queued run", { run_id: run.id, ...errorFields(e) }),
      );
    throw new ApiError(
      503,
      "queue_unavailable",
      "The run could not be scheduled; nothing was accepted. Retry the request.",
    );
  }
}
