/** Runs in Redis: creation with thread queueing and idempotency, fenced claims and saves. */
import { IDEMPOTENCY_TTL_S, RUN_TTL_S, THREAD_TTL_S } from "../engine/constants";
import type { RunRecord } from "../engine/types";
import { keys } from "./keys";
import type { ThreadRecord } from "./records";
import { parseJson, type Redis } from "./redis";
import { ABANDON_RUN, CLAIM, CREATE_RUN, RELEASE_THREAD, SAVE, UNLOCK, UNQUEUE_RUN } from "./scripts";

export type CreateOutcome =
  | { kind: "start" }
  | { kind: "queued" }
  | { kind: "duplicate"; runId: string; bodyHash: string };

export type ClaimOutcome =
  | { kind: "ok"; run: RunRecord; cancelRequested: boolean; seq: number }
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
    ];
  }

  /** Write the run, and `thread` as its thread's record when that has none yet (a new thread). */
  async create(
    run: RunRecord,
    idem: { key: string; bodyHash: string } | null,
    thread: ThreadRecord | null = null,
  ): Promise<CreateOutcome> {
    const idemValue = idem ? `${idem.bodyHash}|${run.id}` : "";
    const result = await this.scripts.create.exec(this.createKeys(run, idem?.key ?? null), [
      run.id,
      JSON.stringify(run),
      idem ? "1" : "0",
      idemValue,
      String(RUN_TTL_S),
      String(IDEMPOTENCY_TTL_S),
      String(run.created_at_ms),
      thread ? JSON.stringify(thread) : "",
      String(THREAD_TTL_S),
    ]);
    if (result[0] === "duplicate") {
      const [bodyHash = "", runId = ""] = String(result[1]).split("|");
      return { kind: "duplicate", runId, bodyHash };
    }
    return { kind: result[0] === "start" ? "start" : "queued" };
  }

  /** Undo `create` after its first step could not be published. Returns a run to start instead. */
  async abandon(run: RunRecord, idemKey: string | null): Promise<string | null> {
    const next = await this.scripts.abandon.exec(this.createKeys(run, idemKey), [run.id, String(RUN_TTL_S)]);
    return next || null;
  }

  async get(tenant: string, runId: string): Promise<{ run: RunRecord; seq: number } | null> {
    // Without automatic deserialisation HMGET answers the raw array of values.
    const [doc, seq, cancel] = (await this.redis.hmget(
      keys.run(tenant, runId),
      "doc",
      "seq",
      "cancel",
    )) as unknown as (string | null)[];
    const run = parseJson<RunRecord>(doc);
    if (!run) return null;
    return { run: cancel ? { ...run, cancel_requested: true } : run, seq: Number(seq) };
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
      return {
        kind,
        run: cancelRequested ? { ...run, cancel_requested: true } : run,
        cancelRequested,
        seq: Number(r[3]),
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
    await this.redis.hset(keys.run(tenant, runId), { cancel: "1" });
  }

  /**
   * Release the run's thread. `startNext` publishes the start step of the next queued run; it is
   * called before that run is handed the thread, so a crash in between cannot strand it.
   */
  async releaseThread(run: RunRecord, startNext: (runId: string) => Promise<void>): Promise<void> {
    const threadKeys = [
      keys.threadActive(run.tenant, run.thread_id),
      keys.threadQueue(run.tenant, run.thread_id),
    ];
    let expected = "";
    for (;;) {
      const [kind, id = ""] = await this.scripts.release.exec(threadKeys, [
        run.id,
        expected,
        String(RUN_TTL_S),
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
