/**
 * Runs in Redis: creation with quotas, thread and tenant queueing, thread messages and idempotency,
 * fenced claims and saves, and the release that records the answer and hands a thread and an
 * active-run slot on.
 */
import type { Config } from "../config";
import {
  ACTIVE_SLOT_STALE_MS,
  IDEMPOTENCY_TTL_S,
  MAX_HANDOFFS_PER_RELEASE,
  RUN_TTL_S,
  RECONCILE_CURSOR_TTL_S,
  THREAD_TTL_S,
  USAGE_TTL_S,
} from "../engine/constants";
import { MAX_RUN_DOC_BYTES } from "../engine/bounds";
import type { MessageRecord } from "../engine/messages";
import { runTooLarge } from "../errors";
import type { RunRecord } from "../engine/types";
import { monthOf } from "../engine/usage";
import { unseenResponses } from "../engine/run";
import { buildFeedEvent } from "../engine/present";
import { cancelFlag, type BusyMode } from "../engine/busy";
import { DeferredStore } from "./deferred";
import { FEED_LIMIT, readFeed } from "./feed";
import { eventArgs, OUTBOX_GRACE_MS, OutboxStore } from "./outbox";
import type { ProgressEvent } from "../engine/progress";
import { keys, RUN_FIELDS as F, THREAD_FIELDS } from "./keys";
import { type ListPage, type ListParams, pageIds, toPage } from "./list";
import { messageArgs } from "./messages";
import type { ThreadRecord } from "./records";
import type { WebhookSecret } from "./tenants";
import { parseJson, type Redis } from "./redis";
import {
  abandonRun,
  claimRun,
  countLateUsage,
  createEnded,
  createRun,
  owedCancel,
  pumpSlots,
  releaseRun,
  releaseSaveRun,
  saveRun,
  strandedPage,
  unlockRun,
  unqueueRun,
} from "./scripts";

export type CreateOutcome =
  | { kind: "start" }
  /** Holds its thread, waits for an active-run slot; `pump`: a slot is free, others wait, hand it on. */
  | { kind: "waiting"; pump: boolean }
  | { kind: "quota"; quota: "runs" | "tokens"; limit: number }
  | { kind: "duplicate"; runId: string; bodyHash: string }
  /** `exclusive` mode only: the thread has an active run. */
  | { kind: "busy"; activeRunId: string }
  /** `reject`: the thread has an active run. */
  | { kind: "reject"; activeRunId: string }
  /** The thread's queue holds `max` runs already. */
  | { kind: "full"; max: number }
  /** `merge`: the messages joined the thread's pending merge run `runId` (no new run). */
  | { kind: "merged"; runId: string }
  /** `merge`: the thread's pending merge run is not `expectedMerge` any more: read it again. */
  | { kind: "merge_moved"; pending: string }
  /**
   * Queued behind `activeRunId` (`interrupt`: which the caller must cancel); `dropped`: queued runs
   * it superseded (`latest` / `interrupt`), which the caller cancels as superseded.
   */
  | { kind: "queued"; activeRunId: string; dropped: string[]; interrupt: boolean }
  /** The thread's held messages are not the expected ones: rebuild the input with these. */
  | { kind: "held"; ids: string[] };

export interface CreateOptions {
  /**
   * What happens on a busy thread (engine/busy.ts): a policy, or `exclusive`, the Assistants API's
   * original refusal.
   */
  mode: BusyMode;
  /** Bound of the thread's queue (THREAD_QUEUE_MAX). */
  maxQueue?: number;
  /** `merge`: the thread's pending merge run as last read ("" none; see ThreadStore / pendingMerge). */
  expectedMerge?: string;
  /** Quiet the run waits for before it starts (ms, 0 none). */
  debounceMs?: number;
  /** Held message ids the run's input was built with (see MessageStore.held). */
  expectedHeld: string[];
  /** Messages this run adds to the thread (recorded with the run, after the held ones). */
  newMessages: MessageRecord[];
  /** The thread's record, written with the run when the thread has none yet (a new thread). */
  thread?: ThreadRecord | null;
}

export type StartRun = (runId: string) => Promise<void>;

/**
 * Whether `create` marks a started run `publishing` until its first step is surely in QStash: only
 * what reads the mark needs it — a replay of the run's Idempotency-Key (intake answers 409 while it
 * is set) and a merge into the run (`on_busy: merge`: a run still publishing takes none). Other
 * runs skip it, and intake skips the request that clears it (`published`).
 */
export const marksPublishing = (idem: { key: string } | null, mode: BusyMode) =>
  idem !== null || mode === "merge";

/** What a run's end saves with its release (RunStore.releaseSave): as `saveWith`'s arguments. */
export interface EndSave {
  owner: string;
  at: { now: number; leaseMs?: number };
  progress: ProgressEvent[];
  /** Told the save's outcome as soon as it is written (before free slots are handed on). */
  onSaved?: (saved: { seq: number | null; kick: boolean }) => void;
}

export type ClaimOutcome =
  /**
   * `at`: the time the claim was taken at (its lease runs from then). `secrets`: the tenant's stored
   * webhook secrets as the claim read them (null: none stored; absent: not read).
   */
  | {
      kind: "ok";
      run: RunRecord;
      cancelRequested: boolean;
      seq: number;
      at?: number;
      secrets?: WebhookSecret[] | null;
    }
  | { kind: "stale"; run: RunRecord | null }
  /** `retryAfterMs`: how long the lease still holds (null: the step that scheduled this one is saving). */
  | { kind: "busy"; retryAfterMs: number | null }
  | { kind: "missing" };

export class RunStore {
  private readonly redis: Redis;
  private readonly defaults: Config["tenantDefaults"];
  private readonly scripts;
  /** Delayed runs before they start (store/deferred.ts). */
  readonly deferred: DeferredStore;
  /** The outboxes of runs that deliver progress events (store/outbox.ts). */
  readonly outbox: OutboxStore;

  constructor(redis: Redis, defaults: Config["tenantDefaults"]) {
    this.redis = redis;
    this.deferred = new DeferredStore(redis);
    this.outbox = new OutboxStore(redis);
    this.defaults = defaults;
    this.scripts = {
      claim: claimRun.bind<string[]>(redis),
      releaseSave: releaseSaveRun.bind<string[]>(redis),
      save: saveRun.bind<[number, number]>(redis),
      create: createRun.bind<string[]>(redis),
      release: releaseRun.bind<string[]>(redis),
      pump: pumpSlots.bind<string[]>(redis),
      unqueue: unqueueRun.bind<number>(redis),
      unlock: unlockRun.bind<number>(redis),
      abandon: abandonRun.bind<number>(redis),
      owedCancel: owedCancel.bind<number>(redis),
      createEnded: createEnded.bind<string[]>(redis),
      strandedPage: strandedPage.bind<string[]>(redis),
      countLate: countLateUsage.bind<number>(redis),
    };
  }

  private idemKey(run: RunRecord, idemKey: string | null) {
    return idemKey ? keys.idempotency(run.tenant, idemKey) : keys.run(run.tenant, run.id);
  }

  /** The keys of a thread's messages, by the names the scripts give them. */
  private messageKeys(tenant: string, thread: string) {
    return {
      thread: keys.thread(tenant, thread),
      threadMessages: keys.threadMessages(tenant, thread),
      messageDocs: keys.threadMessageDocs(tenant, thread),
    };
  }

  async create(
    run: RunRecord,
    idem: { key: string; bodyHash: string } | null,
    opts: CreateOptions,
  ): Promise<CreateOutcome> {
    const { tenant, thread_id: thread, id } = run;
    const result = await this.scripts.create.exec({
      keys: {
        run: keys.run(tenant, id),
        idempotency: this.idemKey(run, idem?.key ?? null),
        threadActive: keys.threadActive(tenant, thread),
        threadQueue: keys.threadQueue(tenant, thread),
        threadRuns: keys.threadRuns(tenant, thread),
        tenant: keys.tenant(tenant),
        slots: keys.activeSlots(tenant),
        slotQueue: keys.slotQueue(tenant),
        usage: keys.usage(tenant, monthOf(run.created_at_ms)),
        ...this.messageKeys(tenant, thread),
        held: keys.threadHeld(tenant, thread),
        sent: keys.threadSent(tenant, thread),
        mergeRun: keys.run(tenant, opts.expectedMerge || id),
        owedCancels: keys.owedCancels(tenant),
      },
      args: {
        runId: id,
        doc: runDoc(run),
        useIdem: idem ? "1" : "0",
        idemValue: idem ? `${idem.bodyHash}|${id}` : "",
        ttlS: RUN_TTL_S,
        idemTtlS: IDEMPOTENCY_TTL_S,
        now: run.created_at_ms,
        model: run.params.model,
        defaultMaxActiveRuns: this.defaults.maxActiveRuns,
        defaultMonthlyRuns: this.defaults.monthlyRuns,
        defaultMonthlyTokens: this.defaults.monthlyTokens,
        usageTtlS: USAGE_TTL_S,
        slotStaleMs: ACTIVE_SLOT_STALE_MS,
        mode: opts.mode,
        expectedHeld: opts.expectedHeld.join(" "),
        threadTtlS: THREAD_TTL_S,
        threadDoc: opts.thread ? JSON.stringify(opts.thread) : "",
        assistantField: THREAD_FIELDS.assistant(run.assistant_id),
        maxQueue: opts.maxQueue ?? 1_000,
        expectedMerge: opts.expectedMerge ?? "",
        debounceMs: opts.debounceMs ?? 0,
        callbackDoc: run.callback ? JSON.stringify(run.callback) : "",
        markPublishing: marksPublishing(idem, opts.mode) ? "1" : "0",
      },
      rest: messageArgs(opts.newMessages),
    });
    const [kind, a = "", b = "", ...rest] = result.map(String);
    if (kind === "reject") return { kind, activeRunId: a };
    if (kind === "full") return { kind, max: Number(a) };
    if (kind === "merged") return { kind, runId: a };
    if (kind === "merge_moved") return { kind, pending: a };
    if (kind === "queued" || kind === "interrupt")
      return {
        kind: "queued",
        activeRunId: a,
        dropped: [b, ...rest].filter(Boolean),
        interrupt: kind === "interrupt",
      };
    if (kind === "duplicate") {
      const [bodyHash = "", runId = ""] = a.split("|");
      return { kind, runId, bodyHash };
    }
    if (kind === "busy") return { kind, activeRunId: a };
    if (kind === "held") return { kind, ids: a.split(" ").filter(Boolean) };
    if (kind === "quota") return { kind, quota: a === "tokens" ? "tokens" : "runs", limit: Number(b) };
    if (kind === "waiting") return { kind, pump: a === "1" };
    return { kind: "start" };
  }

  /**
   * Undo `create` after its first step could not be published: the record, its messages and its
   * count go, and its thread and slot are let go in the same script (abandonRun); then free slots
   * are handed on. `claimed`: a step has claimed the run (its start reached QStash after all), so
   * nothing was undone and the run stays accepted.
   */
  async abandon(
    run: RunRecord,
    idemKey: string | null,
    opts: CreateOptions,
    startNext: StartRun,
  ): Promise<"withdrawn" | "claimed"> {
    const { tenant, thread_id: thread } = run;
    const undone = await this.scripts.abandon.exec({
      keys: {
        run: keys.run(tenant, run.id),
        idempotency: this.idemKey(run, idemKey),
        threadRuns: keys.threadRuns(tenant, thread),
        usage: keys.usage(tenant, monthOf(run.created_at_ms)),
        threadMessages: keys.threadMessages(tenant, thread),
        messageDocs: keys.threadMessageDocs(tenant, thread),
        held: keys.threadHeld(tenant, thread),
        sent: keys.threadSent(tenant, thread),
        slots: keys.activeSlots(tenant),
        slotQueue: keys.slotQueue(tenant),
        threadActive: keys.threadActive(tenant, thread),
        threadQueue: keys.threadQueue(tenant, thread),
      },
      args: {
        runId: run.id,
        useIdem: idemKey ? "1" : "0",
        model: run.params.model,
        newIds: opts.newMessages.map((m) => m.id).join(" "),
        heldIds: opts.expectedHeld.join(" "),
        ttlS: RUN_TTL_S,
      },
    });
    if (undone === -1) return "claimed";
    // Its slot and thread went in the same script; a free slot goes to the next run waiting (a
    // failed publish here leaves it waiting for the reconciler's next hand-off: commands/reconcile.ts).
    await this.pump(tenant, startNext);
    return "withdrawn";
  }

  /**
   * Write a run that ended before it was accepted (a refused delayed start or schedule firing),
   * once: `exists` when a run has its id, `duplicate` (with the run id) when `idem` names one.
   */
  async createEnded(
    run: RunRecord,
    idem: { key: string; bodyHash: string } | null,
  ): Promise<{ kind: "ok" | "exists" } | { kind: "duplicate"; runId: string }> {
    const [kind = "", value = ""] = (
      await this.scripts.createEnded.exec({
        keys: { run: keys.run(run.tenant, run.id), idempotency: this.idemKey(run, idem?.key ?? null) },
        args: {
          doc: runDoc(run),
          ttlS: RUN_TTL_S,
          useIdem: idem ? "1" : "0",
          idemValue: idem ? `${idem.bodyHash}|${run.id}` : "",
          idemTtlS: IDEMPOTENCY_TTL_S,
        },
      })
    ).map(String);
    if (kind === "duplicate") return { kind, runId: value.split("|")[1] ?? "" };
    return { kind: kind === "exists" ? "exists" : "ok" };
  }

  /** `publishing`: the run's first step may not be in QStash yet (see RUN_FIELDS.publishing). */
  async get(
    tenant: string,
    runId: string,
  ): Promise<{ run: RunRecord; seq: number; publishing?: boolean } | null> {
    // Without automatic deserialisation HMGET answers the raw array of values.
    const [doc, seq, cancel, metadata, publishing] = (await this.redis.hmget(
      keys.run(tenant, runId),
      F.doc,
      F.seq,
      F.cancel,
      F.metadata,
      F.publishing,
    )) as unknown as (string | null)[];
    const run = parseJson<RunRecord>(doc);
    if (!run) return null;
    const flags = withFlags(run, cancel ?? "", metadata ?? "");
    return { run: flags, seq: Number(seq), publishing: Boolean(publishing) };
  }

  /** The run's first step is in QStash: a replay of its Idempotency-Key may now answer 202. */
  async published(tenant: string, runId: string): Promise<void> {
    await this.redis.hdel(keys.run(tenant, runId), F.publishing);
  }

  /** Runs of a thread, newest first by default (Assistants list semantics). */
  async list(tenant: string, threadId: string, params: ListParams): Promise<ListPage<RunRecord>> {
    const { ids, hasMore } = await pageIds(this.redis, keys.threadRuns(tenant, threadId), params);
    if (ids.length === 0) return toPage([], false);
    const p = this.redis.pipeline();
    for (const id of ids) p.hmget(keys.run(tenant, id), F.doc, F.cancel, F.metadata);
    const rows = (await p.exec()) as unknown as ((string | null)[] | null)[];
    const runs = rows.flatMap((row) => {
      const run = parseJson<RunRecord>(row?.[0] ?? null);
      return run ? [withFlags(run, row?.[1] ?? "", row?.[2] ?? "")] : [];
    });
    return toPage(runs, hasMore);
  }

  /** Replace a run's metadata (Assistants "modify run"); steps keep their own document untouched. */
  async setMetadata(tenant: string, runId: string, metadata: Record<string, string>): Promise<void> {
    await this.redis.hset(keys.run(tenant, runId), { [F.metadata]: JSON.stringify(metadata) });
  }

  /** Claim the run for a step carrying `seq`, or (null) at whatever seq the run is at now. */
  async claim(
    tenant: string,
    runId: string,
    seq: number | null,
    owner: string,
    now: number,
    leaseMs: number,
  ) {
    const r = await this.scripts.claim.exec({
      keys: { run: keys.run(tenant, runId), tenant: keys.tenant(tenant) },
      args: { seq: seq === null ? "" : seq, owner, now, leaseMs },
    });
    const kind = r[0];
    if (kind === "ok") {
      const run = parseJson<RunRecord>(r[1]) as RunRecord;
      const cancelRequested = Boolean(r[2]);
      const seqNow = Number(r[4]);
      return {
        kind,
        run: withFlags(run, r[2] ?? "", r[3] ?? ""),
        cancelRequested,
        seq: seqNow,
        at: now,
        secrets: parseJson<WebhookSecret[]>(r[5] || null),
      } as ClaimOutcome;
    }
    if (kind === "stale") return { kind, run: parseJson<RunRecord>(r[1]) } as ClaimOutcome;
    if (kind === "busy") return { kind, retryAfterMs: r[1] ? Number(r[1]) : null } as ClaimOutcome;
    return { kind: "missing" } as ClaimOutcome;
  }

  /**
   * Save under the lease at `at.now` (recorded for the reconciler); `finish` ends the step (bumps
   * the fencing seq), `at.leaseMs` extends the lease from `now`. A run whose state stands for an
   * event appends it to its feed in the same script (store/feed.ts). Returns the seq or null if lost.
   */
  async save(
    run: RunRecord,
    owner: string,
    finish: boolean,
    at?: { now: number; leaseMs?: number },
  ): Promise<number | null> {
    return (await this.saveWith(run, owner, finish, at, [])).seq;
  }

  /**
   * Save, appending the run's new `progress` events (engine/progress.ts) with its state event to
   * its feed and outbox. `kick`: a deliver step must be published (steps/deliver.ts).
   * `conversation`: the upstream conversation the run made, written to its thread unless the thread
   * has one (ThreadStore.setConversationId's write, in the same request).
   */
  async saveWith(
    run: RunRecord,
    owner: string,
    finish: boolean,
    at: { now: number; leaseMs?: number } | undefined,
    progress: ProgressEvent[],
    conversation: string | null = null,
  ): Promise<{ seq: number | null; kick: boolean }> {
    const leaseUntil = at?.leaseMs !== undefined ? at.now + at.leaseMs : "";
    const [seq, kick] = await this.scripts.save.exec({
      keys: {
        run: keys.run(run.tenant, run.id),
        feed: keys.runEvents(run.tenant, run.id),
        outbox: keys.runOutbox(run.tenant, run.id),
        thread: keys.thread(run.tenant, run.thread_id),
      },
      args: {
        owner,
        doc: runDoc(run),
        finish: finish ? "1" : "0",
        ttlS: RUN_TTL_S,
        leaseUntil,
        savedAt: at ? at.now : "",
        maxEvents: FEED_LIMIT,
        now: at?.now ?? Date.now(),
        graceMs: OUTBOX_GRACE_MS,
        conversation: conversation ?? "",
      },
      rest: eventArgs(run, buildFeedEvent(run), progress),
    });
    return { seq: Number(seq) < 0 ? null : Number(seq), kick: Number(kick) === 1 };
  }

  /**
   * Active runs of `tenant` with no live step: slot taken before `before`, not leased at `now`, not
   * saved since `before` (at most `limit`); slots whose run is gone are freed on the way.
   */
  async stranded(tenant: string, before: number, now: number, limit: number) {
    const slots = keys.activeSlots(tenant);
    // Three requests at most, whatever the count: the next page of slots (from the tenant's
    // reconcile cursor, so a walk over successive calls sees every slot), their runs' fields, the
    // gone ones freed.
    const ids = (
      await this.scripts.strandedPage.exec({
        keys: { slots, cursor: keys.reconcileSlotCursor(tenant) },
        args: { before, limit, ttlS: RECONCILE_CURSOR_TTL_S },
      })
    ).map(String);
    if (ids.length === 0) return { runs: [], freed: 0 };
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmget(keys.run(tenant, id), F.seq, F.leaseUntil, F.savedAt);
    // Each answer is the fields' values in order (this client does not deserialize).
    const fields = (await pipe.exec()) as ([unknown, unknown, unknown] | null)[];
    const runs: { run_id: string; seq: number }[] = [];
    const gone: string[] = [];
    for (const [i, id] of ids.entries()) {
      const [seq, leaseUntil, savedAt] = fields[i] ?? [null, null, null];
      if (seq === null || seq === undefined) {
        gone.push(id);
        continue;
      }
      const leased = Number(leaseUntil ?? 0) > now;
      const savedSince = Number(savedAt ?? 0) >= before;
      if (!leased && !savedSince) runs.push({ run_id: id, seq: Number(seq) });
    }
    if (gone.length > 0) await this.redis.zrem(slots, ...(gone as [string, ...string[]]));
    return { runs, freed: gone.length };
  }

  /**
   * Tokens `responseId` brought to `run` after its release counted the run's usage (the change from
   * `before` to `run`), added to the month once; nothing when the release has not counted yet.
   */
  async countLateUsage(before: RunRecord, run: RunRecord, responseId: string): Promise<boolean> {
    const added = await this.scripts.countLate.exec({
      keys: { run: keys.run(run.tenant, run.id), usage: keys.usage(run.tenant, monthOf(run.created_at_ms)) },
      args: {
        responseId,
        model: run.params.model,
        inputTokens: run.usage.prompt_tokens - before.usage.prompt_tokens,
        outputTokens: run.usage.completion_tokens - before.usage.completion_tokens,
        estimatedResponses: (run.upstream.estimated?.length ?? 0) - (before.upstream.estimated?.length ?? 0),
        unknownResponses: unseenResponses(run) - unseenResponses(before),
        usageTtlS: USAGE_TTL_S,
      },
    });
    return added === 1;
  }

  /** The run's event feed, oldest first (store/feed.ts). */
  feed(tenant: string, runId: string) {
    return readFeed(this.redis, tenant, runId);
  }

  /** Give up a claim without changing the run (the next step may take it at once). */
  async unlock(run: RunRecord, owner: string): Promise<void> {
    await this.scripts.unlock.exec({ keys: { run: keys.run(run.tenant, run.id) }, args: { owner } });
  }

  /** `flag`: "1", or why (engine/busy.ts `supersededFlag`). A cancelled run takes no more merges. */
  async requestCancel(tenant: string, runId: string, flag = "1"): Promise<void> {
    await this.redis.hset(keys.run(tenant, runId), { [F.cancel]: flag });
  }

  /**
   * Cancels the intake script recorded as owed (`latest` / `interrupt`) before `before` (ms), at
   * most `limit`: each run id, its cancel flag, and the entry to settle once its step is published.
   */
  async owedCancels(tenant: string, before: number, limit: number) {
    const entries = await this.redis.zrange<string[]>(keys.owedCancels(tenant), "-inf", `(${before}`, {
      byScore: true,
      offset: 0,
      count: limit,
    });
    return entries.map((entry) => {
      const [runId = "", flag = "1"] = String(entry).split(" ");
      return { entry: String(entry), runId, flag };
    });
  }

  /** Set an owed cancel's flag (unless the run has one); the run's seq, or null when it is gone. */
  async applyOwedCancel(tenant: string, runId: string, flag: string): Promise<number | null> {
    const seq = await this.scripts.owedCancel.exec({
      keys: { run: keys.run(tenant, runId) },
      args: { flag },
    });
    return seq < 0 ? null : seq;
  }

  /** An owed cancel is done: its flag is set and its step published. */
  async settleOwedCancel(tenant: string, entry: string): Promise<void> {
    await this.redis.zrem(keys.owedCancels(tenant), entry);
  }

  /** The thread's pending merge run (`on_busy: merge`), or "" (see createRun). */
  async pendingMerge(tenant: string, threadId: string): Promise<string> {
    return (await this.redis.hget<string>(keys.thread(tenant, threadId), THREAD_FIELDS.mergeRun)) ?? "";
  }

  /**
   * Record the run's answer on its thread, release its thread and active-run slot and count its
   * tokens (once). `startNext` publishes the start step of a run that gets a slot; it is called
   * before that run is handed the slot, so a crash in between cannot strand it.
   */
  async releaseThread(run: RunRecord, answer: MessageRecord | null, startNext: StartRun): Promise<void> {
    await this.release(run.tenant, run, answer, true, startNext);
  }

  /**
   * `releaseThread` and a save of `run` under the lease (as `saveWith`, not finishing) in one request
   * (releaseSaveRun): a run's end. A lost lease writes and releases nothing (`seq` null): the step
   * that holds the run now ends it.
   */
  async releaseSave(
    run: RunRecord,
    answer: MessageRecord | null,
    startNext: StartRun,
    save: EndSave,
  ): Promise<{ seq: number | null; kick: boolean }> {
    let saved: { seq: number | null; kick: boolean } = { seq: null, kick: false };
    await this.release(run.tenant, run, answer, true, startNext, save, (seq, kick) => {
      saved = { seq, kick };
      save.onSaved?.(saved);
    });
    return saved;
  }

  /** Hand free active-run slots of a tenant to the runs waiting for one (nothing ended). */
  async pump(tenant: string, startNext: StartRun): Promise<void> {
    await this.release(tenant, null, null, false, startNext);
  }

  /**
   * Release `run` (if any), then hand free slots on: each `head` answer is published through
   * `startNext` before the next call hands that run the slot (pumpSlots with `expected` = its id).
   */
  private async release(
    tenant: string,
    run: RunRecord | null,
    answer: MessageRecord | null,
    count: boolean,
    startNext: StartRun,
    save?: EndSave,
    onSaved?: (seq: number | null, kick: boolean) => void,
  ) {
    const tenantKeys = {
      slots: keys.activeSlots(tenant),
      slotQueue: keys.slotQueue(tenant),
      tenant: keys.tenant(tenant),
    };
    const slotArgs = (expected: string) => ({
      expected,
      ttlS: RUN_TTL_S,
      now: Date.now(),
      slotStaleMs: ACTIVE_SLOT_STALE_MS,
      defaultMaxActiveRuns: this.defaults.maxActiveRuns,
    });
    let expected = "";
    for (let i = 0; i < MAX_HANDOFFS_PER_RELEASE; i++) {
      let reply: unknown[];
      if (run && i === 0) {
        const releaseKeys = {
          ...tenantKeys,
          threadActive: keys.threadActive(tenant, run.thread_id),
          threadQueue: keys.threadQueue(tenant, run.thread_id),
          run: keys.run(tenant, run.id),
          usage: keys.usage(tenant, monthOf(run.created_at_ms)),
          ...this.messageKeys(tenant, run.thread_id),
        };
        const releaseArgs = {
          ...slotArgs(expected),
          runId: run.id,
          model: run.params.model,
          inputTokens: run.usage.prompt_tokens ?? 0,
          outputTokens: run.usage.completion_tokens ?? 0,
          usageTtlS: USAGE_TTL_S,
          countUsage: count ? "1" : "0",
          estimatedResponses: run.upstream.estimated?.length ?? 0,
          unknownResponses: unseenResponses(run),
          answerId: answer?.id ?? "",
          answerDoc: answer ? JSON.stringify(answer) : "",
        };
        if (save) {
          reply = await this.scripts.releaseSave.exec({
            keys: {
              ...releaseKeys,
              feed: keys.runEvents(run.tenant, run.id),
              outbox: keys.runOutbox(run.tenant, run.id),
            },
            args: {
              ...releaseArgs,
              now: save.at.now,
              owner: save.owner,
              doc: runDoc(run),
              leaseUntil: save.at.leaseMs !== undefined ? save.at.now + save.at.leaseMs : "",
              savedAt: save.at.now,
              maxEvents: FEED_LIMIT,
              graceMs: OUTBOX_GRACE_MS,
            },
            rest: eventArgs(run, buildFeedEvent(run), save.progress),
          });
          if (reply[0] === "lost") return onSaved?.(null, false);
          onSaved?.(Number(reply[2]), Number(reply[3]) === 1);
        } else reply = await this.scripts.release.exec({ keys: releaseKeys, args: releaseArgs });
      } else reply = await this.scripts.pump.exec({ keys: tenantKeys, args: slotArgs(expected) });
      const [kind, id = ""] = reply.map(String);
      if (kind === "done") return;
      if (kind === "head") await startNext(id);
      expected = kind === "head" ? id : "";
    }
  }

  /** Remove a run that has not started yet from its thread's queue; false if it was not queued. */
  async unqueue(run: RunRecord): Promise<boolean> {
    const removed = await this.scripts.unqueue.exec({
      keys: { threadQueue: keys.threadQueue(run.tenant, run.thread_id) },
      args: { runId: run.id },
    });
    return removed > 0;
  }
}

/** The hash fields beside the document: a cancel request and metadata set after creation. */
function withFlags(run: RunRecord, cancel: string, metadata: string): RunRecord {
  const why = cancelFlag(cancel);
  let next: RunRecord = cancel
    ? {
        ...run,
        cancel_requested: true,
        ...(why.reason ? { cancel_reason: { reason: why.reason, by: why.by } } : {}),
      }
    : run;
  const meta = parseJson<Record<string, string>>(metadata || null);
  if (meta) next = { ...next, params: { ...next.params, metadata: meta } };
  return next;
}

const utf8 = new TextEncoder();

/** The run's document, refused (413 `run_too_large`) past MAX_RUN_DOC_BYTES. */
function runDoc(run: RunRecord): string {
  const doc = JSON.stringify(run);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long document needs counting.
  if (doc.length * 3 > MAX_RUN_DOC_BYTES) {
    const bytes = utf8.encode(doc).length;
    if (bytes > MAX_RUN_DOC_BYTES) throw runTooLarge(bytes, MAX_RUN_DOC_BYTES);
  }
  return doc;
}
