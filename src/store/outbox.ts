/**
 * A run's outbox: the events a run that opted into progress events delivers to its callback URL,
 * in order, keyed by event (the Lua and the hash's fields: outbox-lua.ts). Saves append to it
 * (`eventArgs` builds their part of the save script's arguments); a deliver step (steps/deliver.ts)
 * drains it from the cursor; the runner sends its own events (requires_action, the end) when the
 * cursor reaches them (`turn`) and moves the cursor past them (`advance`).
 */
import { RUN_TTL_S } from "../engine/constants";
import type { CallbackEvent } from "../engine/present";
import type { ProgressEvent } from "../engine/progress";
import type { RunRecord } from "../engine/types";
import { keys } from "./keys";
import { defineScript } from "./lua";
import { OUTBOX_ADVANCE, OUTBOX_HEAD, OUTBOX_RECORD, OUTBOX_RELEASE, OUTBOX_TURN } from "./outbox-lua";
import type { Redis } from "./redis";

/** A deliver step that was published is given this long past its due time before another is. */
export const OUTBOX_GRACE_MS = 30_000;

const head = defineScript(OUTBOX_HEAD);
const record = defineScript(OUTBOX_RECORD);
const release = defineScript(OUTBOX_RELEASE);
const turn = defineScript(OUTBOX_TURN);
const advance = defineScript(OUTBOX_ADVANCE);

/** Events the runner itself sends (its delivery state, inline tool outputs, redeliver). */
const runnerEvent = (type: string) =>
  !type.startsWith("message.") && type !== "run.step.completed" && type !== "run.in_progress";

/**
 * The flags of one event for the save script (see APPEND_EVENTS): whether it gets a
 * sequence_number (the run opted into progress events and delivers this one) and who sends it.
 */
function flags(run: RunRecord, type: string, state: boolean): string {
  const s = state ? "s" : "";
  const p = run.progress;
  if (!p) return s;
  const runner = runnerEvent(type);
  if (!runner && !p.events.includes(type as ProgressEvent["type"])) return s;
  return `${s}n${run.callback ? (runner ? "r" : "o") : ""}`;
}

/**
 * The save script's `events` (four entries per event): the run's progress events, then its state
 * event (in_progress, requires_action, the end) — except that `run.in_progress` opens a round, so it
 * comes first.
 */
export function eventArgs(run: RunRecord, state: CallbackEvent | null, progress: ProgressEvent[]): string[] {
  const entry = (e: { id: string; type: string }, isState: boolean) => [
    e.id,
    e.type,
    flags(run, e.type, isState),
    JSON.stringify(e),
  ];
  const rest = progress.flatMap((e) => entry(e, false));
  if (!state) return rest;
  return state.type === "run.in_progress"
    ? [...entry(state, true), ...rest]
    : [...rest, ...entry(state, true)];
}

export type OutboxHead =
  | { kind: "busy" | "idle" | "linger" | "runner" }
  | { kind: "event"; seq: number; body: string; failures: number; notBeforeMs: number; lastDeltaMs: number };

export interface OutboxSummary {
  /** Events given a sequence_number, delivered, failed for good, and the cursor. */
  events: number;
  delivered: number;
  failed: number;
  done: number;
  last_error: string | null;
}

export class OutboxStore {
  private readonly redis: Redis;
  constructor(redis: Redis) {
    this.redis = redis;
  }

  private key = (tenant: string, runId: string) => keys.runOutbox(tenant, runId);

  async head(tenant: string, runId: string, owner: string, now: number, leaseMs: number, lingerMs: number) {
    const r = await head.bind<string[]>(this.redis).exec({
      keys: { outbox: this.key(tenant, runId) },
      args: { owner, now, leaseMs, lingerMs },
    });
    const kind = r[0];
    if (kind !== "event") return { kind } as OutboxHead;
    return {
      kind,
      seq: Number(r[1]),
      body: String(r[2]),
      failures: Number(r[3]),
      notBeforeMs: Number(r[4]),
      lastDeltaMs: Number(r[5]),
    } as OutboxHead;
  }

  /** `outcome` of sending `seq`; false when this step no longer holds the outbox. */
  async record(
    tenant: string,
    runId: string,
    owner: string,
    sent: {
      seq: number;
      outcome: "ok" | "failed" | "retry";
      notBeforeMs: number;
      error: string;
      isDelta: boolean;
    },
    now: number,
  ): Promise<boolean> {
    const r = await record.bind<number>(this.redis).exec({
      keys: { outbox: this.key(tenant, runId) },
      args: {
        owner,
        seq: sent.seq,
        outcome: sent.outcome,
        notBefore: sent.notBeforeMs,
        failure: sent.error,
        now,
        isDelta: sent.isDelta ? "1" : "0",
      },
    });
    return Number(r) === 1;
  }

  /** End this deliver step; the next one is due by `dueMs` (0: none). */
  async release(tenant: string, runId: string, owner: string, dueMs: number): Promise<void> {
    await release.bind<number>(this.redis).exec({
      keys: { outbox: this.key(tenant, runId) },
      args: { owner, schedUntil: dueMs === 0 ? 0 : dueMs + OUTBOX_GRACE_MS },
    });
  }

  /** May the runner send its event now? Its sequence_number, and whether a deliver step is needed. */
  async turn(tenant: string, runId: string, eventId: string, now: number) {
    const r = await turn.bind<number[]>(this.redis).exec({
      keys: { outbox: this.key(tenant, runId) },
      args: { eventId, now, graceMs: OUTBOX_GRACE_MS, ttlS: RUN_TTL_S },
    });
    return { seq: Number(r[0]), ready: Number(r[1]) === 1, kick: Number(r[2]) === 1 };
  }

  /** The runner's event `seq` is done; true when a deliver step must be published. */
  async advance(tenant: string, runId: string, seq: number, now: number): Promise<boolean> {
    const r = await advance.bind<number>(this.redis).exec({
      keys: { outbox: this.key(tenant, runId) },
      args: { seq, now, graceMs: OUTBOX_GRACE_MS },
    });
    return Number(r) === 1;
  }

  /** The outbox's counts for the run's delivery state (null: the run has none). */
  async summary(tenant: string, runId: string): Promise<OutboxSummary | null> {
    const raw = (await this.redis.hmget(
      this.key(tenant, runId),
      "next",
      "done",
      "delivered",
      "failed",
      "last_error",
    )) as unknown;
    const [next, done, delivered, failed, lastError] = Array.isArray(raw) ? (raw as (string | null)[]) : [];
    if (next === null || next === undefined) return null;
    return {
      events: Number(next),
      done: Number(done ?? 0),
      delivered: Number(delivered ?? 0),
      failed: Number(failed ?? 0),
      last_error: lastError ?? null,
    };
  }
}
