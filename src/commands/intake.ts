/**
 * Accepting a message: resolve the thread, write the run (idempotently) and, when the thread is
 * free, publish its first step. A returned run is in Redis and its first step is in QStash (or it
 * waits behind the thread's active run, whose end starts it).
 */
import { ApiError, notFound } from "../errors";
import { createRunRecord, type NewRunInput } from "../engine/new-run";
import type { RunInput, RunRecord } from "../engine/types";
import { errorFields, log } from "../log";
import type { StepQueue } from "../queue/steps";
import { newId } from "../store/ids";
import type { AssistantStore, ThreadRecord, ThreadStore } from "../store/records";
import type { RunStore } from "../store/runs";

export interface IntakeDeps {
  assistants: Pick<AssistantStore, "get">;
  threads: Pick<ThreadStore, "get" | "resolveConversation" | "forgetConversation">;
  runs: Pick<RunStore, "create" | "get" | "abandon">;
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
}

export async function acceptMessage(
  deps: IntakeDeps,
  req: IntakeRequest,
): Promise<{ run: RunRecord; replayed: boolean }> {
  const now = deps.now();
  // Independent lookups side by side: one round trip of latency instead of two.
  const [assistant, thread] = await Promise.all([
    deps.assistants.get(req.tenant, req.assistantId),
    resolveThread(deps, req, now),
  ]);
  if (!assistant) {
    if (thread.newKey && req.conversationKey)
      await deps.threads.forgetConversation(req.tenant, req.conversationKey);
    throw notFound("assistant", req.assistantId, "assistant_id");
  }
  const run = createRunRecord({
    id: newId("run"),
    tenant: req.tenant,
    threadId: thread.id,
    conversationKey: req.conversationKey ?? null,
    assistant,
    overrides: req.overrides,
    input: req.input,
    callback: req.callback,
    timeoutS: req.timeoutS,
    limits: req.limits,
    now,
  });
  const outcome = await deps.runs.create(run, req.idempotency, thread.record);
  if (outcome.kind === "duplicate") return replay(deps, req, outcome);
  if (outcome.kind === "start") await publishFirstStep(deps, run, req.idempotency?.key ?? null);
  return { run, replayed: false };
}

/**
 * The run's thread: the given one (which must exist), the one a conversation key maps to, or a new
 * one. `record` is the thread's record to write with the run if it has none yet; `newKey` says the
 * conversation key was mapped by this request.
 */
async function resolveThread(deps: IntakeDeps, req: IntakeRequest, now: number) {
  if (req.threadId) {
    if (!(await deps.threads.get(req.tenant, req.threadId)))
      throw notFound("thread", req.threadId, "thread_id");
    return { id: req.threadId, record: null, newKey: false };
  }
  const fresh: ThreadRecord = {
    id: newId("thread"),
    object: "thread",
    created_at: Math.floor(now / 1000),
    metadata: {},
    tool_resources: {},
    conversation: req.conversationKey ?? null,
  };
  if (!req.conversationKey) return { id: fresh.id, record: fresh, newKey: false };
  const mapped = await deps.threads.resolveConversation(req.tenant, req.conversationKey, fresh.id);
  return { id: mapped.threadId, record: { ...fresh, id: mapped.threadId }, newKey: mapped.created };
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

async function publishFirstStep(deps: IntakeDeps, run: RunRecord, idemKey: string | null): Promise<void> {
  try {
    await deps.queue.publish(
      { tenant: run.tenant, run_id: run.id, seq: 0 },
      { delayMs: 0, reason: "intake" },
    );
  } catch (err) {
    log("error", "could not publish a run's first step; the run is withdrawn", {
      run_id: run.id,
      ...errorFields(err),
    });
    const next = await deps.runs.abandon(run, idemKey);
    if (next) {
      await deps.queue
        .publish({ tenant: run.tenant, run_id: next, seq: 0 }, { delayMs: 0, reason: "start" })
        .catch((e: unknown) =>
          log("error", "could not start the next queued run", { run_id: next, ...errorFields(e) }),
        );
    }
    throw new ApiError(
      503,
      "queue_unavailable",
      "The run could not be scheduled; nothing was accepted. Retry the request.",
    );
  }
}
