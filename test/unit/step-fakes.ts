/**
 * Narrow fakes for the step code's unit tests: a fixed clock, run records, a scripted upstream and
 * an in-memory run store that behaves like the CLAIM / SAVE / UNLOCK scripts. No Redis, QStash or
 * Worker; each fake implements only the methods the steps call and records what was called.
 */
import type { NewRunInput } from "../../src/engine/new-run";
import { transition } from "../../src/engine/run";
import type { RunRecord } from "../../src/engine/types";
import type { ObservedResponse } from "../../src/engine/upstream-types";
import type { ClaimOutcome, RunStore } from "../../src/store/runs";
import type { Upstream } from "../../src/upstream/openai";
import { plainRun, resp, T0 } from "../support/run-fixtures";

export { resp, T0 };

export const S = 1_000;

/** A clock that only moves when the code under test sleeps (or the test advances it). */
export function fakeClock(start = T0) {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export const answer = (text: string, extra: Partial<ObservedResponse> = {}) =>
  resp("completed", {
    message_id: "msg_1",
    content: [{ type: "text", text: { value: text, annotations: [] } }],
    usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
    ...extra,
  });

/** A fresh `queued` run created at `now` (600 s timeout, no callback unless given). */
export const newRun = (now = T0, over: Partial<NewRunInput> = {}): RunRecord => plainRun({ now, ...over });

/** A run with a conversation whose response `resp_1` was created at `now` (status queued). */
export const withResponse = (now = T0, run = newRun(now)) =>
  transition(
    transition(run, { type: "conversation_ready", conversation_id: "conv_1" }, now),
    { type: "response_created", response: resp("queued") },
    now,
  );

type UpstreamMethod =
  | "createConversation"
  | "createResponse"
  | "createAndStream"
  | "streamResponse"
  | "getResponse"
  | "cancelResponse"
  | "addItems"
  | "recentItems"
  | "callRequest";
export type FakeUpstream = Pick<Upstream, UpstreamMethod> & { calls: UpstreamMethod[] };

/**
 * An upstream that runs the given implementations, records each call and throws on any other, but
 * `recentItems`: an empty conversation unless given.
 */
export function fakeUpstream(given: Partial<Pick<Upstream, UpstreamMethod>>): FakeUpstream {
  const impl: Partial<Pick<Upstream, UpstreamMethod>> = { recentItems: async () => [], ...given };
  const calls: UpstreamMethod[] = [];
  const method =
    (name: UpstreamMethod) =>
    (...args: unknown[]) => {
      calls.push(name);
      const fn = impl[name] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) throw new Error(`unexpected upstream call: ${name}`);
      return fn(...args);
    };
  return {
    calls,
    createConversation: method("createConversation") as Upstream["createConversation"],
    createResponse: method("createResponse") as Upstream["createResponse"],
    createAndStream: method("createAndStream") as Upstream["createAndStream"],
    streamResponse: method("streamResponse") as Upstream["streamResponse"],
    getResponse: method("getResponse") as Upstream["getResponse"],
    cancelResponse: method("cancelResponse") as Upstream["cancelResponse"],
    addItems: method("addItems") as Upstream["addItems"],
    recentItems: method("recentItems") as Upstream["recentItems"],
    callRequest: method("callRequest") as Upstream["callRequest"],
  };
}

/** Answers the given responses in order (the last one repeats). */
export const inOrder = (...responses: ObservedResponse[]) => {
  let i = 0;
  return async () => responses[Math.min(i++, responses.length - 1)] as ObservedResponse;
};

type StoreMethod = "claim" | "save" | "unlock" | "releaseThread" | "releaseSave" | "countLateUsage";

/**
 * One run in memory, fenced like the Lua scripts: `claim` answers busy for a seq ahead of the record
 * or a lease held by another owner, stale for a seq behind it; `save` with `finish` bumps the seq
 * and drops the lease. `loseLease()` makes every later save fail, as when another owner took over.
 */
export function fakeRunStore(run: RunRecord | null, seq = 0, opts: { releaseSave?: boolean } = {}) {
  const state = {
    run,
    seq,
    lease: null as string | null,
    leaseUntil: 0,
    leaseLost: false,
    released: 0,
  };
  const calls: StoreMethod[] = [];
  const saves: { run: RunRecord; finish: boolean }[] = [];
  const store: Pick<RunStore, "claim" | "save" | "unlock" | "releaseThread" | "countLateUsage"> &
    Partial<Pick<RunStore, "releaseSave">> = {
    async claim(_tenant, _runId, want, owner, now, leaseMs): Promise<ClaimOutcome> {
      calls.push("claim");
      if (!state.run) return { kind: "missing" };
      if (want !== null && want > state.seq) return { kind: "busy", retryAfterMs: null };
      if (want !== null && want < state.seq) return { kind: "stale", run: state.run };
      if (state.lease && state.lease !== owner && state.leaseUntil > now)
        return { kind: "busy", retryAfterMs: state.leaseUntil - now };
      state.lease = owner;
      state.leaseUntil = now + leaseMs;
      return { kind: "ok", run: state.run, cancelRequested: state.run.cancel_requested, seq: state.seq };
    },
    async save(r, owner, finish, renew) {
      calls.push("save");
      if (state.leaseLost || state.lease !== owner) return null;
      saves.push({ run: r, finish });
      state.run = r;
      if (renew?.leaseMs !== undefined && !finish) state.leaseUntil = renew.now + renew.leaseMs;
      if (finish) {
        state.lease = null;
        state.seq += 1;
      }
      return state.seq;
    },
    async unlock(_r, owner) {
      calls.push("unlock");
      if (state.lease === owner) state.lease = null;
    },
    async releaseThread() {
      calls.push("releaseThread");
      state.released += 1;
    },
    /** Tokens that reach the month after the release (store/runs.ts): here, whether it was released. */
    async countLateUsage() {
      calls.push("countLateUsage");
      return state.released > 0;
    },
  };
  // The save and the release in one request, as RunStore.releaseSave (a lost lease: neither).
  if (opts.releaseSave)
    store.releaseSave = async (r, _answer, _startNext, save) => {
      calls.push("releaseSave");
      if (state.leaseLost || state.lease !== save.owner) return { seq: null, kick: false };
      saves.push({ run: r, finish: false });
      state.run = r;
      if (save.at.leaseMs !== undefined) state.leaseUntil = save.at.now + save.at.leaseMs;
      state.released += 1;
      return { seq: state.seq, kick: false };
    };
  return {
    store,
    state,
    calls,
    saves,
    /** Another owner holds the run until `until`. */
    holdBy: (owner: string, until: number) => {
      state.lease = owner;
      state.leaseUntil = until;
    },
    loseLease: () => {
      state.leaseLost = true;
    },
  };
}

/** A step queue that records what it was asked to publish. */
export function fakeQueue() {
  const published: {
    msg: { tenant: string; run_id: string; seq: number };
    delayMs: number;
    reason: string;
  }[] = [];
  return {
    published,
    publish: async (
      msg: { tenant: string; run_id: string; seq: number },
      opts: { delayMs: number; reason: string },
    ) => {
      published.push({ msg, ...opts });
    },
  };
}
