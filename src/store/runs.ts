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
  THREAD_TTL_S,
  USAGE_TTL_S,
} from "../engine/constants";
import type { MessageRecord } from "../engine/messages";
import type { RunRecord } from "../engine/types";
import { monthOf } from "../engine/usage";
import { keys, RUN_FIELDS as F } from "./keys";
import { type ListPage, type ListParams, pageIds, toPage } from "./list";
import { messageArgs } from "./messages";
import type { ThreadRecord } from "./records";
import { parseJson, type Redis } from "./redis";
import { ABANDON_RUN, CLAIM, CREATE_RUN, RELEASE_RUN, SAVE, UNLOCK, UNQUEUE_RUN } from "./scripts";

export type CreateOutcome =
  | { kind: "start" }
  | { kind: "queued" }
  /** Holds its thread, waits for an active-run slot; `pump`: a slot is free, others wait, hand it on. */
  | { kind: "waiting"; pump: boolean }
  | { kind: "quota"; quota: "runs" | "tokens"; limit: number }
  | { kind: "duplicate"; runId: string; bodyHash: string }
  /** `exclusive` mode only: the thread has an active run. */
  | { kind: "busy"; activeRunId: string }
  /** The thread's held messages are not the expected ones: rebuild the input with these. */
  | { kind: "held"; ids: string[] };

export interface CreateOptions {
  /** `queue`: wait behind the thread's active run (webhook API); `exclusive`: refuse (Assistants API). */
  mode: "queue" | "exclusive";
  /** Held message ids the run's input was built with (see MessageStore.held). */
  expectedHeld: string[];
  /** Messages this run adds to the thread (recorded with the run, after the held ones). */
  newMessages: MessageRecord[];
  /** The thread's record, written with the run when the thread has none yet (a new thread). */
  thread?: ThreadRecord | null;
}

export type StartRun = (runId: string) => Promise<void>;

export type ClaimOutcome =
  | { kind: "ok"; run: RunRecord; cancelRequested: boolean; seq: number }
  | { kind: "stale"; run: RunRecord | null }
  | { kind: "busy" }
  | { kind: "missing" };

export class RunStore {
  private readonly redis: Redis;
  private readonly defaults: Config["tenantDefaults"];
  private readonly scripts;

  constructor(redis: Redis, defaults: Config["tenantDefaults"]) {
    this.redis = redis;
    this.defaults = defaults;
    this.scripts = {
      claim: redis.createScript<string[]>(CLAIM),
      save: redis.createScript<number>(SAVE),
      create: redis.createScript<string[]>(CREATE_RUN),
      release: redis.createScript<string[]>(RELEASE_RUN),
      unqueue: redis.createScript<number>(UNQUEUE_RUN),
      unlock: redis.createScript<number>(UNLOCK),
      abandon: redis.createScript<number>(ABANDON_RUN),
    };
  }

  private idemKey(run: RunRecord, idemKey: string | null) {
    return idemKey ? keys.idempotency(run.tenant, idemKey) : keys.run(run.tenant, run.id);
  }

  private messageKeys(tenant: string, thread: string) {
    return [
      keys.thread(tenant, thread),
      keys.threadMessages(tenant, thread),
      keys.threadMessageDocs(tenant, thread),
    ];
  }

  async create(
    run: RunRecord,
    idem: { key: string; bodyHash: string } | null,
    opts: CreateOptions,
  ): Promise<CreateOutcome> {
    const { tenant, thread_id: thread, id } = run;
    const result = await this.scripts.create.exec(
      [
        keys.run(tenant, id),
        this.idemKey(run, idem?.key ?? null),
        keys.threadActive(tenant, thread),
        keys.threadQueue(tenant, thread),
        keys.threadRuns(tenant, thread),
        keys.tenant(tenant),
        keys.activeSlots(tenant),
        keys.slotQueue(tenant),
        keys.usage(tenant, monthOf(run.created_at_ms)),
        ...this.messageKeys(tenant, thread),
        keys.threadHeld(tenant, thread),
        keys.threadSent(tenant, thread),
      ],
      [
        id,
        JSON.stringify(run),
        idem ? "1" : "0",
        idem ? `${idem.bodyHash}|${id}` : "",
        String(RUN_TTL_S),
        String(IDEMPOTENCY_TTL_S),
        String(run.created_at_ms),
        run.params.model,
        String(this.defaults.maxActiveRuns),
        String(this.defaults.monthlyRuns),
        String(this.defaults.monthlyTokens),
        String(USAGE_TTL_S),
        String(ACTIVE_SLOT_STALE_MS),
        opts.mode,
        opts.expectedHeld.join(" "),
        String(THREAD_TTL_S),
        String(opts.newMessages.length),
        opts.thread ? JSON.stringify(opts.thread) : "",
        ...messageArgs(opts.newMessages),
      ],
    );
    const [kind, a = "", b = ""] = result.map(String);
    if (kind === "duplicate") {
      const [bodyHash = "", runId = ""] = a.split("|");
      return { kind, runId, bodyHash };
    }
    if (kind === "busy") return { kind, activeRunId: a };
    if (kind === "held") return { kind, ids: a.split(" ").filter(Boolean) };
    if (kind === "quota") return { kind, quota: a === "tokens" ? "tokens" : "runs", limit: Number(b) };
    if (kind === "waiting") return { kind, pump: a === "1" };
    return { kind: kind === "start" ? "start" : "queued" };
  }

  /**
   * Undo `create` after its first step could not be published: the record, its messages and its
   * count go, then its thread and slot are released like an ended run's (without counting tokens).
   */
  async abandon(
    run: RunRecord,
    idemKey: string | null,
    opts: CreateOptions,
    startNext: StartRun,
  ): Promise<void> {
    const { tenant, thread_id: thread } = run;
    await this.scripts.abandon.exec(
      [
        keys.run(tenant, run.id),
        this.idemKey(run, idemKey),
        keys.threadRuns(tenant, thread),
        keys.usage(tenant, monthOf(run.created_at_ms)),
        keys.threadMessages(tenant, thread),
        keys.threadMessageDocs(tenant, thread),
        keys.threadHeld(tenant, thread),
        keys.threadSent(tenant, thread),
      ],
      [run.id, run.params.model, opts.newMessages.map((m) => m.id).join(" "), opts.expectedHeld.join(" ")],
    );
    await this.release(tenant, run, null, false, startNext);
  }

  async get(tenant: string, runId: string): Promise<{ run: RunRecord; seq: number } | null> {
    // Without automatic deserialisation HMGET answers the raw array of values.
    const [doc, seq, cancel, metadata] = (await this.redis.hmget(
      keys.run(tenant, runId),
      F.doc,
      F.seq,
      F.cancel,
      F.metadata,
    )) as unknown as (string | null)[];
    const run = parseJson<RunRecord>(doc);
    if (!run) return null;
    return { run: withFlags(run, cancel ?? "", metadata ?? ""), seq: Number(seq) };
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
    const r = await this.scripts.claim.exec(
      [keys.run(tenant, runId)],
      [seq === null ? "" : String(seq), owner, String(now), String(leaseMs)],
    );
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
      } as ClaimOutcome;
    }
    if (kind === "stale") return { kind, run: parseJson<RunRecord>(r[1]) } as ClaimOutcome;
    return { kind: kind === "busy" ? "busy" : "missing" } as ClaimOutcome;
  }

  /** Save under the lease; `finish` ends the step (bumps the fencing seq). Returns the seq or null if lost. */
  async save(run: RunRecord, owner: string, finish: boolean): Promise<number | null> {
    const seq = await this.scripts.save.exec(
      [keys.run(run.tenant, run.id)],
      [owner, JSON.stringify(run), finish ? "1" : "0", String(RUN_TTL_S)],
    );
    return seq < 0 ? null : seq;
  }

  /** Give up a claim without changing the run (the next step may take it at once). */
  async unlock(run: RunRecord, owner: string): Promise<void> {
    await this.scripts.unlock.exec([keys.run(run.tenant, run.id)], [owner]);
  }

  async requestCancel(tenant: string, runId: string): Promise<void> {
    await this.redis.hset(keys.run(tenant, runId), { [F.cancel]: "1" });
  }

  /**
   * Record the run's answer on its thread, release its thread and active-run slot and count its
   * tokens (once). `startNext` publishes the start step of a run that gets a slot; it is called
   * before that run is handed the slot, so a crash in between cannot strand it.
   */
  async releaseThread(run: RunRecord, answer: MessageRecord | null, startNext: StartRun): Promise<void> {
    await this.release(run.tenant, run, answer, true, startNext);
  }

  /** Hand free active-run slots of a tenant to the runs waiting for one (nothing ended). */
  async pump(tenant: string, startNext: StartRun): Promise<void> {
    await this.release(tenant, null, null, false, startNext);
  }

  private async release(
    tenant: string,
    run: RunRecord | null,
    answer: MessageRecord | null,
    count: boolean,
    startNext: StartRun,
  ) {
    const tenantKeys = [keys.activeSlots(tenant), keys.slotQueue(tenant), keys.tenant(tenant)];
    const runKeys = run
      ? [
          keys.threadActive(tenant, run.thread_id),
          keys.threadQueue(tenant, run.thread_id),
          keys.run(tenant, run.id),
          keys.usage(tenant, monthOf(run.created_at_ms)),
          ...this.messageKeys(tenant, run.thread_id),
        ]
      : [];
    const answerArgs = answer ? [answer.id, JSON.stringify(answer)] : ["", ""];
    let expected = "";
    for (let i = 0; i < MAX_HANDOFFS_PER_RELEASE; i++) {
      const [kind, id = ""] = (
        await this.scripts.release.exec(
          [...tenantKeys, ...runKeys],
          [
            run?.id ?? "",
            expected,
            String(RUN_TTL_S),
            String(Date.now()),
            String(ACTIVE_SLOT_STALE_MS),
            String(this.defaults.maxActiveRuns),
            run?.params.model ?? "",
            String(run?.usage.prompt_tokens ?? 0),
            String(run?.usage.completion_tokens ?? 0),
            String(USAGE_TTL_S),
            count ? "1" : "0",
            ...answerArgs,
          ],
        )
      ).map(String);
      if (kind === "done") return;
      if (kind === "head") await startNext(id);
      expected = kind === "head" ? id : "";
    }
  }

  /** Remove a run that has not started yet from its thread's queue; false if it was not queued. */
  async unqueue(run: RunRecord): Promise<boolean> {
    return (await this.scripts.unqueue.exec([keys.threadQueue(run.tenant, run.thread_id)], [run.id])) > 0;
  }
}

/** The hash fields beside the document: a cancel request and metadata set after creation. */
function withFlags(run: RunRecord, cancel: string, metadata: string): RunRecord {
  let next = cancel ? { ...run, cancel_requested: true } : run;
  const meta = parseJson<Record<string, string>>(metadata || null);
  if (meta) next = { ...next, params: { ...next.params, metadata: meta } };
  return next;
}
