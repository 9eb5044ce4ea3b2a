/**
 * Creating a run, for both front doors: resolve the thread, build the run's input from the
 * thread's held messages plus the new ones, write the run (idempotently, within the tenant's
 * monthly quotas) and, when its thread and an active-run slot are free, publish its first step. A
 * returned run is in Redis and its first step is in QStash, or it waits behind the thread's active
 * run or the tenant's active runs, whose end starts it.
 */
import { type ContentInput, type MessageRecord, newMessage, toInputMessage } from "../engine/messages";
import { runFilesFor } from "../engine/files";
import { createRunRecord, type NewRunInput } from "../engine/new-run";
import { DEFAULT_DELTA_INTERVAL_MS, newProgress, type ProgressEventType } from "../engine/progress";
import type { RunInput, RunRecord, UrlAttachment } from "../engine/types";
import { msToNextMonth } from "../engine/usage";
import { type Config, dieAt } from "../config";
import { ApiError, isQueueRefusal, notFound } from "../errors";
import { errorFields, log } from "../log";
import type { StepQueue } from "../queue/steps";
import { newId } from "../store/ids";
import type { MessageStore } from "../store/messages";
import type { AssistantStore, ThreadRecord, ThreadStore } from "../store/records";
import { type CreateOptions, marksPublishing, type RunStore } from "../store/runs";
import type { Upstream } from "../upstream/openai";
import { isBusyProblem, type OnBusy, resolveBusy, supersededFlag } from "../engine/busy";
import { checkFileRefs, type FileRefDeps } from "./file-refs";

export interface IntakeDeps extends FileRefDeps {
  assistants: Pick<AssistantStore, "get">;
  threads: Pick<ThreadStore, "get" | "resolveConversation" | "forgetConversation">;
  runs: Pick<
    RunStore,
    | "create"
    | "get"
    | "abandon"
    | "pump"
    | "published"
    | "pendingMerge"
    | "requestCancel"
    | "settleOwedCancel"
  >;
  messages: Pick<MessageStore, "heldMessages" | "docs">;
  queue: Pick<StepQueue, "publish">;
  now: () => number;
  /** An interrupted run's live response is cancelled at once (as the cancel endpoint does). */
  upstream: Pick<Upstream, "cancelResponse">;
  /** DEV_DIE_AT (development only); the thread queue's bound. */
  config: Pick<Config, "devDieAt" | "threadQueueMax">;
}

export type ThreadTarget =
  | { kind: "id"; threadId: string }
  | { kind: "conversation"; key: string; freshId?: string | undefined }
  | {
      kind: "new";
      metadata?: Record<string, string> | undefined;
      toolResources?: Record<string, unknown>;
      /** The new thread's id when it was announced before (a delayed run's). */
      id?: string | undefined;
    };

export interface NewMessage {
  role: "user" | "assistant";
  content: ContentInput;
  attachments?: MessageRecord["attachments"] | undefined;
  metadata?: Record<string, string> | null | undefined;
  /** v1 form (see engine/files.ts). */
  file_ids?: string[] | null | undefined;
}

export interface IntakeRequest {
  tenant: string;
  assistantId: string;
  thread: ThreadTarget;
  /** Messages this run adds to the thread (the webhook input, or Assistants `additional_messages`). */
  messages: NewMessage[];
  overrides: NewRunInput["overrides"];
  callback: RunRecord["callback"];
  /**
   * Progress events (engine/progress.ts): `events` the message asked for (undefined: the
   * assistant's), `intervalMs` between two `message.delta` (MESSAGE_DELTA_INTERVAL_MS).
   */
  progress?: { events?: ProgressEventType[] | undefined; intervalMs: number } | undefined;
  timeoutS: number;
  limits: NewRunInput["limits"];
  idempotency: { key: string; bodyHash: string } | null;
  /**
   * What a busy thread does with this message (engine/busy.ts): a policy (the webhook API's default
   * `queue`), or `exclusive`: refuse with the original 400 (the Assistants API without the extension).
   */
  mode: CreateOptions["mode"];
  /** The message's own `on_busy` (else its assistant's default, else `mode`). */
  onBusy?: OnBusy | undefined;
  /** Quiet (ms) the run waits for before it starts (`debounce_ms`, with `queue` and `merge`). */
  debounceMs?: number | undefined;
  /** The assistants the caller's key may use (null: all); checked after the tenant lookup (404 first). */
  allowedAssistants?: string[] | null | undefined;
  /** Files attached by URL (webhook API): fetched and uploaded by the run before it starts. */
  attachmentUrls?: UrlAttachment[] | undefined;
  /** How the messages are named in error params (`additional_messages`, `thread.messages`, …). */
  messagesParam?: string | undefined;
  /** The run's id when it was announced before it was created (a delayed run: commands/deferred.ts). */
  runId?: string | undefined;
  /** When a delayed run was due (shown on the run as `scheduled_for`). */
  scheduledForMs?: number | undefined;
}

/** Attempts when held messages change between reading them and writing the run. */
const HELD_RETRIES = 3;

export async function acceptRun(
  deps: IntakeDeps,
  req: IntakeRequest,
): Promise<{ run: RunRecord; replayed: boolean; thread: ThreadRecord | null }> {
  const now = deps.now();
  // Independent lookups side by side: one round trip of latency instead of two. The files and
  // stores the request names must be the tenant's (engine/files.ts puts them to use).
  const [assistant, thread] = await Promise.all([
    deps.assistants.get(req.tenant, req.assistantId),
    resolveThread(deps, req, now),
    checkFileRefs(deps, req.tenant, {
      messages: req.messages,
      tools: req.overrides.tools,
      messagesParam: req.messagesParam,
    }),
  ]);
  const refusal = !assistant
    ? notFound("assistant", req.assistantId, "assistant_id")
    : req.allowedAssistants && !req.allowedAssistants.includes(assistant.id)
      ? new ApiError(403, "assistant_not_allowed", "This key may not use this assistant.", {
          param: "assistant_id",
        })
      : null;
  if (!assistant || refusal) {
    // A conversation key this request mapped must not point at a thread that never gets a run.
    if (thread.newKey && req.thread.kind === "conversation")
      await deps.threads.forgetConversation(req.tenant, req.thread.key);
    throw refusal;
  }
  const { id: threadId, created } = thread;
  const resolved = resolveBusy({
    message: { on_busy: req.onBusy, debounce_ms: req.debounceMs },
    assistant,
    doorDefault: req.mode,
  });
  // A run announced before (a delayed one) keeps its id: it queues instead of merging into another.
  const busy =
    !isBusyProblem(resolved) && resolved.mode === "merge" && req.runId !== undefined
      ? { ...resolved, mode: "queue" as const }
      : resolved;
  if (isBusyProblem(busy)) {
    if (thread.newKey && req.thread.kind === "conversation")
      await deps.threads.forgetConversation(req.tenant, req.thread.key);
    throw new ApiError(400, "invalid_debounce", busy.message, { param: busy.param });
  }
  const newMessages = req.messages.map((m) => newMessage({ ...m, id: newId("msg"), threadId, nowMs: now }));
  // The Assistants API usually runs on messages added before; the webhook API brings its own. A run
  // with nothing new (the assistant speaks first, a retry, "regenerate") runs on the thread as it is.
  let held = busy.mode === "exclusive" ? await deps.messages.heldMessages(req.tenant, threadId) : [];
  let expectedMerge = busy.mode === "merge" ? await deps.runs.pendingMerge(req.tenant, threadId) : "";
  for (let attempt = 0; ; attempt++) {
    const input = runInput([...held, ...newMessages]);
    const fresh = createRunRecord({
      id: req.runId ?? newId("run"),
      tenant: req.tenant,
      threadId,
      conversationKey: conversationKey(req),
      assistant,
      overrides: req.overrides,
      input,
      callback: req.callback,
      timeoutS: req.timeoutS,
      limits: req.limits,
      now,
      progress: newProgress(
        req.progress?.events ?? assistant.events ?? [],
        req.progress?.intervalMs ?? DEFAULT_DELTA_INTERVAL_MS,
      ),
      files: runFilesFor({
        assistantResources: assistant.tool_resources,
        messages: [...held, ...newMessages],
        urls: req.attachmentUrls ?? [],
        tools: req.overrides.tools ?? assistant.tools,
      }),
    });
    const { debounceMs } = busy;
    const timed =
      req.scheduledForMs === undefined ? fresh : { ...fresh, scheduled_for_ms: req.scheduledForMs };
    const debounced = debounceMs > 0 ? { ...timed, debounce_ms: debounceMs } : timed;
    const run = busy.mode === "merge" ? { ...debounced, merge: true } : debounced;
    const opts: CreateOptions = {
      mode: busy.mode,
      expectedHeld: held.map((m) => m.id),
      newMessages,
      thread: thread.record,
      maxQueue: deps.config.threadQueueMax,
      expectedMerge,
      debounceMs,
    };
    const outcome = await deps.runs.create(run, req.idempotency, opts);
    if (outcome.kind === "duplicate") return { ...(await replay(deps, req, outcome)), thread: null };
    if (outcome.kind === "busy") throw activeRun(threadId, outcome.activeRunId);
    if (outcome.kind === "reject") throw threadBusy(threadId, outcome.activeRunId);
    if (outcome.kind === "full") throw queueFull(threadId, outcome.max);
    if (outcome.kind === "held" || outcome.kind === "merge_moved") {
      if (attempt >= HELD_RETRIES) throw new ApiError(409, "thread_busy", "The thread is changing; retry.");
      if (outcome.kind === "held") held = await deps.messages.docs(req.tenant, threadId, outcome.ids);
      else expectedMerge = outcome.pending;
      continue;
    }
    if (outcome.kind === "merged") {
      // One run answers them all: this caller's 202 is that run, its callback one of the run's targets.
      const merged = await deps.runs.get(req.tenant, outcome.runId);
      if (!merged) throw new Error(`merged into run ${outcome.runId}, which is gone`);
      return { run: merged.run, replayed: false, thread: created };
    }
    if (outcome.kind === "quota") throw quotaExceeded(outcome, now);
    // A Worker that dies here leaves a run with no step: the reconciler publishes it (reconcile.ts).
    dieAt(deps.config, "after_run_written");
    const withdraw = { idemKey: req.idempotency?.key ?? null, opts };
    if (outcome.kind === "queued") await supersede(deps, run, outcome);
    if (outcome.kind === "start")
      await publishOrWithdraw(deps, run, withdraw, () => publishStart(deps, run.tenant, run.id, debounceMs));
    // A slot is free while others wait for one (a stale slot was just freed): hand it on now, or
    // this run would wait behind runs nothing is going to start.
    if (outcome.kind === "waiting" && outcome.pump)
      await publishOrWithdraw(deps, run, withdraw, () => pumpFor(deps, run));
    // The mark is set only where something reads it (store/runs.ts marksPublishing).
    const marked = marksPublishing(req.idempotency, busy.mode);
    if (marked && (outcome.kind === "start" || (outcome.kind === "waiting" && outcome.pump)))
      await markPublished(deps, run);
    return { run, replayed: false, thread: created };
  }
}

/**
 * Hand the tenant's free slots on after `run` was queued for one. Only a failure before `run`'s own
 * start is published, and not a refused start of another run, withdraws it: once its start is published its step may already be running (and have made
 * a response, even ended the run), so a later hand-off's refusal must not delete it — that run is
 * left waiting for the reconciler, which hands free slots on (commands/reconcile.ts), as a run's
 * own release does (steps/actions.ts `release_thread`).
 */
async function pumpFor(deps: IntakeDeps, run: RunRecord): Promise<void> {
  let otherFailed = false;
  let started = false;
  try {
    await deps.runs.pump(run.tenant, async (id) => {
      try {
        await publishStart(deps, run.tenant, id);
      } catch (err) {
        otherFailed = id !== run.id;
        throw err;
      }
      if (id === run.id) started = true;
    });
  } catch (err) {
    if (!otherFailed && !started) throw err;
    log("warn", "could not publish a queued run's start; the reconciler hands it the slot", {
      run_id: run.id,
      ...errorFields(err),
    });
  }
}

/** Best effort: the first step's claim clears the flag too (store/scripts.ts). */
async function markPublished(deps: IntakeDeps, run: RunRecord): Promise<void> {
  await deps.runs
    .published(run.tenant, run.id)
    .catch((err: unknown) =>
      log("warn", "could not mark a run published", { run_id: run.id, ...errorFields(err) }),
    );
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

const publishStart = (deps: IntakeDeps, tenant: string, runId: string, delayMs = 0) =>
  deps.queue.publish({ tenant, run_id: runId, seq: 0 }, { delayMs, reason: "start" });

/**
 * After the intake script queued `run` (`latest` / `interrupt`): the queued runs it dropped end
 * `cancelled` as superseded by it (flag first, then their step: a step must never find such a run
 * without its flag), and with `interrupt` the active run is cancelled the way the cancel endpoint
 * does (its live response cancelled now, a step to finish it). The script recorded each of these
 * cancels as owed; each is settled once its step is published. A Worker that dies before leaves
 * them to the reconciler (commands/reconcile.ts), which sets the same flags and publishes the steps.
 */
async function supersede(
  deps: IntakeDeps,
  run: RunRecord,
  queued: { activeRunId: string; dropped: string[]; interrupt: boolean },
): Promise<void> {
  const { tenant } = run;
  if (queued.dropped.length === 0 && !queued.interrupt) return;
  dieAt(deps.config, "before_supersede");
  await Promise.all(
    queued.dropped.map(async (id) => {
      const flag = supersededFlag(run.id);
      await deps.runs.requestCancel(tenant, id, flag);
      await deps.queue.publish({ tenant, run_id: id, seq: 0 }, { delayMs: 0, reason: "cancel" });
      await deps.runs.settleOwedCancel(tenant, `${id} ${flag}`);
    }),
  );
  if (!queued.interrupt) return;
  const owed = `${queued.activeRunId} 1`;
  const active = await deps.runs.get(tenant, queued.activeRunId);
  if (!active || active.run.status === "cancelled" || active.run.cancel_requested) {
    await deps.runs.settleOwedCancel(tenant, owed);
    return;
  }
  await deps.runs.requestCancel(tenant, queued.activeRunId);
  const responseId = active.run.upstream.response_id;
  if (responseId)
    await deps.upstream.cancelResponse(responseId).catch((err: unknown) =>
      log("warn", "upstream cancel failed; the step will retry it", {
        run_id: active.run.id,
        ...errorFields(err),
      }),
    );
  await deps.queue.publish(
    { tenant, run_id: queued.activeRunId, seq: active.seq },
    { delayMs: 0, reason: "cancel" },
  );
  await deps.runs.settleOwedCancel(tenant, owed);
}

/** `on_busy: reject` on a thread with an active run. */
const threadBusy = (threadId: string, runId: string) =>
  new ApiError(409, "thread_busy", `Thread ${threadId} has an active run ${runId}; on_busy is "reject".`, {
    param: "on_busy",
  });

/** The thread's queue is full (THREAD_QUEUE_MAX). */
const queueFull = (threadId: string, max: number) =>
  new ApiError(
    429,
    "thread_queue_full",
    `Thread ${threadId} already has ${max} runs waiting behind its active run (THREAD_QUEUE_MAX); retry later.`,
    { param: "thread_id", headers: { "Retry-After": "5" } },
  );

/**
 * The Assistants API's error for a second run, or a message, on a thread with an active run: word
 * for word the original's, whose `code` and `param` were null (client code matches the message).
 */
export const activeRun = (threadId: string, runId: string, what: "run" | "message" = "run") =>
  new ApiError(
    400,
    null,
    what === "run"
      ? `Thread ${threadId} already has an active run ${runId}.`
      : `Can't add messages to ${threadId} while a run ${runId} is active.`,
  );

/** A single text message travels as plain text; anything else as message items. */
function runInput(messages: MessageRecord[]): RunInput {
  const inputs = messages.map(toInputMessage);
  const [only] = inputs;
  return inputs.length === 1 && only?.role === "user" && typeof only.content === "string"
    ? only.content
    : inputs;
}

const conversationKey = (req: IntakeRequest) => (req.thread.kind === "conversation" ? req.thread.key : null);

/**
 * The run's thread: the given one (which must exist), the one a conversation key maps to, or a new
 * one. `record` is the thread's record to write with the run if it has none yet (`RunStore.create`);
 * `created` is the new thread to announce; `newKey` says this request mapped the conversation key.
 */
async function resolveThread(deps: IntakeDeps, req: IntakeRequest, now: number) {
  const target = req.thread;
  if (target.kind === "id") {
    if (!(await deps.threads.get(req.tenant, target.threadId)))
      throw notFound("thread", target.threadId, "thread_id");
    return { id: target.threadId, record: null, created: null, newKey: false };
  }
  const fresh: ThreadRecord = {
    id: (target.kind === "new" ? target.id : target.freshId) ?? newId("thread"),
    object: "thread",
    created_at: Math.floor(now / 1000),
    metadata: target.kind === "new" ? (target.metadata ?? {}) : {},
    tool_resources: target.kind === "new" ? (target.toolResources ?? {}) : {},
    conversation: target.kind === "conversation" ? target.key : null,
  };
  if (target.kind === "new") return { id: fresh.id, record: fresh, created: fresh, newKey: false };
  const mapped = await deps.threads.resolveConversation(req.tenant, target.key, fresh.id);
  const record = { ...fresh, id: mapped.threadId };
  return { id: mapped.threadId, record, created: mapped.created ? record : null, newKey: mapped.created };
}

async function replay(deps: IntakeDeps, req: IntakeRequest, dup: { runId: string; bodyHash: string }) {
  if (dup.bodyHash !== req.idempotency?.bodyHash) {
    throw new ApiError(
      409,
      "idempotency_key_reused",
      "This Idempotency-Key was already used with a different request body.",
      { param: "Idempotency-Key" },
    );
  }
  const found = await deps.runs.get(req.tenant, dup.runId);
  // The first request is still publishing the run's step, which may yet fail and withdraw the run:
  // a 202 now could name a run that will not exist (issue 13, finding 2).
  if (found?.publishing)
    throw new ApiError(
      409,
      "request_in_progress",
      "The first request with this Idempotency-Key is still being accepted; retry in a moment.",
      { param: "Idempotency-Key", headers: { "Retry-After": "1" } },
    );
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
 * messages are taken back, its thread and slot go to the next in line — and answer 503: nothing was
 * accepted. Unless a step has claimed the run meanwhile (a publish that looked failed reached QStash
 * after all, or the pump published this run's start before a later Redis call failed): then the
 * withdrawal changes nothing, the run is running, and the caller is told it was accepted — a 503
 * would make it send the message again, and two runs would answer it.
 */
async function publishOrWithdraw(
  deps: IntakeDeps,
  run: RunRecord,
  withdraw: { idemKey: string | null; opts: CreateOptions },
  publish: () => Promise<void>,
): Promise<void> {
  try {
    await publish();
  } catch (err) {
    log("error", "could not publish a run's first step; the run is withdrawn", {
      run_id: run.id,
      ...errorFields(err),
    });
    const undone = await deps.runs
      .abandon(run, withdraw.idemKey, withdraw.opts, (id) => publishStart(deps, run.tenant, id))
      .catch((e: unknown) => {
        log("error", "could not start the next queued run", { run_id: run.id, ...errorFields(e) });
        return "withdrawn" as const;
      });
    if (undone === "claimed") {
      log("warn", "a step has the run whose publish failed; it stays accepted", { run_id: run.id });
      return;
    }
    // QStash refused (quota, rate limit): 503 with its Retry-After. Nothing was accepted either way.
    if (isQueueRefusal(err))
      throw new ApiError(503, err.code, `${err.message} The run was not accepted: send it again then.`, {
        headers: err.headers,
      });
    throw new ApiError(
      503,
      "queue_unavailable",
      "The run could not be scheduled; nothing was accepted. Retry the request.",
    );
  }
}
