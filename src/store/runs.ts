/** Runs in Redis: creation with thread queueing and idempotency, fenced claims and saves. */
import { IDEMPOTENCY_TTL_S, RUN_TTL_S, THREAD_TTL_S } from "../engine/constants";
import type { MessageRecord } from "../engine/messages";
import type { RunRecord } from "../engine/types";
import { keys } from "./keys";
import { type ListPage, type ListParams, pageIds, toPage } from "./list";
import { messageArgs } from "./messages";
import { parseJson, type Redis } from "./redis";
import { ABANDON_RUN, CLAIM, CREATE_RUN, RELEASE_THREAD, SAVE, UNLOCK, UNQUEUE_RUN } from "./scripts";

export type CreateOutcome =
  | { kind: "start" }
  | { kind: "queued" }
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
}

export type ClaimOutcome =
  | { kind: "ok"; run: RunRecord; cancelRequested: boolean }
  | { kind: "stale"; run: RunRecord | null }
  | { kind: "busy" }
  | { kind: "missing" };

export class RunStore {
  private readonly redis: Redis;
  private readonly scripts;

  constructor(redis: Redis) {
    this.redis = redis;
    this.scripts = {
      claim: redis.createScript<string[]>(CLAIM),
      save: redis.createScript<number>(SAVE),
      create: redis.createScript<string[]>(CREATE_RUN),
      release: redis.createScript<string[]>(RELEASE_THREAD),
      unqueue: redis.createScript<number>(UNQUEUE_RUN),
      unlock: redis.createScript<number>(UNLOCK),
      abandon: redis.createScript<string>(ABANDON_RUN),
    };
  }

  private createKeys(run: RunRecord, idemKey: string | null) {
    const { tenant, thread_id: thread, id } = run;
    return [
      keys.run(tenant, id),
      idemKey ? keys.idempotency(tenant, idemKey) : keys.run(tenant, id),
      keys.threadActive(tenant, thread),
      keys.threadQueue(tenant, thread),
      keys.threadRuns(tenant, thread),
      keys.thread(tenant, thread),
      keys.threadMessages(tenant, thread),
      keys.threadMessageDocs(tenant, thread),
      keys.threadHeld(tenant, thread),
      keys.threadSent(tenant, thread),
    ];
  }

  async create(
    run: RunRecord,
    idem: { key: string; bodyHash: string } | null,
    opts: CreateOptions,
  ): Promise<CreateOutcome> {
    const idemValue = idem ? `${idem.bodyHash}|${run.id}` : "";
    const [kind, detail = ""] = await this.scripts.create.exec(this.createKeys(run, idem?.key ?? null), [
      run.id,
      JSON.stringify(run),
      idem ? "1" : "0",
      idemValue,
      String(RUN_TTL_S),
      String(IDEMPOTENCY_TTL_S),
      String(run.created_at_ms),
      opts.mode,
      opts.expectedHeld.join(" "),
      String(THREAD_TTL_S),
      String(opts.newMessages.length),
      ...messageArgs(opts.newMessages),
    ]);
    if (kind === "duplicate") {
      const [bodyHash = "", runId = ""] = detail.split("|");
      return { kind, runId, bodyHash };
    }
    if (kind === "busy") return { kind, activeRunId: detail };
    if (kind === "held") return { kind, ids: detail.split(" ").filter(Boolean) };
    return { kind: kind === "start" ? "start" : "queued" };
  }

  /** Undo `create` after its first step could not be published. Returns a run to start instead. */
  async abandon(run: RunRecord, idemKey: string | null, opts: CreateOptions): Promise<string | null> {
    const next = await this.scripts.abandon.exec(this.createKeys(run, idemKey), [
      run.id,
      String(RUN_TTL_S),
      opts.newMessages.map((m) => m.id).join(" "),
      opts.expectedHeld.join(" "),
    ]);
    return next || null;
  }

  async get(tenant: string, runId: string): Promise<{ run: RunRecord; seq: number } | null> {
    // Without automatic deserialisation HMGET answers the raw array of values.
    const [doc, seq, cancel, metadata] = (await this.redis.hmget(
      keys.run(tenant, runId),
      "doc",
      "seq",
      "cancel",
      "metadata",
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
    for (const id of ids) p.hmget(keys.run(tenant, id), "doc", "cancel", "metadata");
    const rows = (await p.exec()) as unknown as ((string | null)[] | null)[];
    const runs = rows.flatMap((row) => {
      const run = parseJson<RunRecord>(row?.[0] ?? null);
      return run ? [withFlags(run, row?.[1] ?? "", row?.[2] ?? "")] : [];
    });
    return toPage(runs, hasMore);
  }

  /** Replace a run's metadata (Assistants "modify run"); steps keep their own document untouched. */
  async setMetadata(tenant: string, runId: string, metadata: Record<string, string>): Promise<void> {
    await this.redis.hset(keys.run(tenant, runId), { metadata: JSON.stringify(metadata) });
  }

  async claim(tenant: string, runId: string, seq: number, owner: string, now: number, leaseMs: number) {
    const r = await this.scripts.claim.exec(
      [keys.run(tenant, runId)],
      [String(seq), owner, String(now), String(leaseMs)],
    );
    const kind = r[0];
    if (kind === "ok") {
      const run = parseJson<RunRecord>(r[1]) as RunRecord;
      const cancelRequested = Boolean(r[2]);
      return { kind, run: withFlags(run, r[2] ?? "", r[3] ?? ""), cancelRequested } as ClaimOutcome;
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
    await this.redis.hset(keys.run(tenant, runId), { cancel: "1" });
  }

  /**
   * Record the run's answer on its thread and release the thread. `startNext` publishes the start step of the next queued run; it is
   * called before that run is handed the thread, so a crash in between cannot strand it.
   */
  async releaseThread(
    run: RunRecord,
    answer: MessageRecord | null,
    startNext: (runId: string) => Promise<void>,
  ): Promise<void> {
    const { tenant, thread_id: thread } = run;
    const threadKeys = [
      keys.threadActive(tenant, thread),
      keys.threadQueue(tenant, thread),
      keys.thread(tenant, thread),
      keys.threadMessages(tenant, thread),
      keys.threadMessageDocs(tenant, thread),
    ];
    const answerArgs = answer ? [answer.id, JSON.stringify(answer)] : ["", ""];
    let expected = "";
    for (;;) {
      const [kind, id = ""] = await this.scripts.release.exec(threadKeys, [
        run.id,
        expected,
        String(RUN_TTL_S),
        ...answerArgs,
      ]);
      if (kind !== "head") return;
      await startNext(id);
      expected = id;
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
