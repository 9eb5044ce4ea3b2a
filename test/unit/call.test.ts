/**
 * The `call` strategy with narrow fakes: the step that hands the create to QStash, and the callback
 * that brings OpenAI's answer back — a response, a cut answer, an error OpenAI gave, no answer at
 * all, a late answer after the deadline, and callbacks for attempts the run does not wait for.
 */
import { describe, expect, it } from "vitest";
import { callKey } from "../../src/engine/call";
import type { RunRecord } from "../../src/engine/types";
import type { CallMessage } from "../../src/queue/steps";
import type { Deps } from "../../src/steps/actions";
import { type CallReport, driveCalled } from "../../src/steps/called";
import { driveStep } from "../../src/steps/runner";
import { readCallAnswer, UpstreamError } from "../../src/upstream/openai";
import { transition } from "../../src/engine/run";
import { queueRefused } from "../../src/errors";
import {
  CALLBACK_CLAIM_MAX_ATTEMPTS,
  CALLBACK_CLAIM_WAIT_MS,
  STEP_CLAIM_WAIT_MS,
} from "../../src/engine/constants";
import { answer, fakeClock, fakeRunStore, fakeUpstream, newRun, resp, S, T0 } from "./step-fakes";

const REQUEST = { url: "https://api.example/v1/responses", headers: {}, body: "{}" };

function setup(
  run: RunRecord = newRun(),
  upstream: Parameters<typeof fakeUpstream>[0] = {},
  storeOpts: Parameters<typeof fakeRunStore>[2] = {},
) {
  const clock = fakeClock();
  const store = fakeRunStore(run, 0, storeOpts);
  const published: { delayMs: number; reason: string }[] = [];
  const calls: CallMessage[] = [];
  const fake = fakeUpstream({ callRequest: () => REQUEST, ...upstream });
  const deps = {
    config: { drive: { strategy: "call", budgetMs: 25 * S, callMaxS: 900 }, devMode: false },
    runs: store.store,
    threads: { get: async () => ({ conversation_id: "conv_1" }), setConversationId: async () => "conv_1" },
    queue: {
      publish: async (_m: unknown, opts: { delayMs: number; reason: string }) => void published.push(opts),
      publishCall: async (c: CallMessage) => void calls.push(c),
    },
    upstream: fake,
    webhookSecrets: async () => [],
    now: clock.now,
    sleep: clock.sleep,
  } as unknown as Deps;
  return { deps, clock, store, published, calls, upstreamCalls: fake.calls };
}

/** A run whose call is out: the start step ran. */
async function sent(upstream: Parameters<typeof fakeUpstream>[0] = {}) {
  const t = setup(newRun(), upstream);
  expect(await driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("done");
  return t;
}

const ok = (body: unknown): CallReport => ({
  status: 200,
  header: {},
  body: JSON.stringify(body),
  error: null,
});
const openaiResponse = (id: string, text: string) => ({
  id,
  object: "response",
  status: "completed",
  output: [
    {
      type: "message",
      id: "msg_9",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text, annotations: [] }],
    },
  ],
  usage: { input_tokens: 4, output_tokens: 2, total_tokens: 6 },
  metadata: { threadhook_tenant: "t1", threadhook_run: "run_1" },
});
const ref = (key = "0.0.0") => ({ tenant: "t1", run_id: "run_1", key });

describe("the step that starts a round", () => {
  it("hands the create to QStash once, timed to the run's deadline, and schedules no step", async () => {
    const t = await sent();
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]).toMatchObject({ request: REQUEST, ref: ref(), timeoutS: 602 });
    expect(t.published).toEqual([]);
    expect(t.store.state.run?.status).toBe("in_progress");
    expect(t.store.state.run?.upstream.call).toMatchObject({ key: "0.0.0", until_ms: T0 + 602 * S });
    // The thread's conversation is not the run's own: its newest items are read once, for calls an
    // earlier run left open (engine/lost-create.ts), before QStash is handed the create.
    expect(t.upstreamCalls).toEqual(["recentItems", "callRequest"]);
  });

  it("ends right after a slow publish: it does not look for the answer of the call it just sent", async () => {
    // A publish that takes longer than CALL_LOOK_MIN_MS (a loaded QStash or Worker): the step must not
    // mistake its own call for an overdue one, read the conversation and adopt a response that has
    // ended there without its usage, leaving the callback to find an ended run (the burst's extra
    // requests and invocations, docs/performance.md).
    const t = setup();
    const publishCall = t.deps.queue.publishCall;
    t.deps.queue.publishCall = async (c) => {
      t.clock.advance(3 * S);
      await publishCall(c);
    };
    expect(await driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("done");
    expect(t.upstreamCalls).toEqual(["recentItems", "callRequest"]);
    expect(t.store.state.run?.upstream.call).toMatchObject({ key: "0.0.0", sent_at_ms: T0 + 3 * S });
    expect(t.store.state.run?.status).toBe("in_progress");
  });

  it("a run longer than QStash holds a call is polled instead", async () => {
    const t = setup(newRun(T0, { timeoutS: 3600 }), { createResponse: async () => resp("queued") });
    expect(await driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("scheduled");
    expect(t.calls).toEqual([]);
    expect(t.published.map((p) => p.delayMs)).toEqual([2 * S]);
  });

  it("a round with no input of its own is created by the Worker (where the input nudge lives) and polled", async () => {
    const t = setup(newRun(T0, { input: [] }), { createResponse: async () => resp("queued") });
    expect(await driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("scheduled");
    expect(t.calls).toEqual([]);
    expect(t.upstreamCalls).toContain("createResponse");
  });

  it("a step that runs again from the same saved state builds the same key (QStash drops the copy)", () => {
    expect(callKey(newRun())).toBe(callKey(newRun()));
  });

  it("a record saved before the call attempt was kept apart keeps its key: its failures stood for it", () => {
    const run = newRun();
    const { call_attempt: _, ...before } = run.upstream;
    expect(callKey({ ...run, upstream: { ...before, failures: 2 } })).toBe("0.0.2");
    expect(callKey({ ...run, upstream: { ...run.upstream, failures: 2 } })).toBe("0.0.0");
  });
});

describe("the callback", () => {
  it("with the response: finishes the run, no GET", async () => {
    const t = await sent();
    expect(await driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "hi!")))).toBe("done");
    expect(t.store.state.run).toMatchObject({
      status: "completed",
      output: { text: "hi!" },
      upstream: { response_id: "resp_7", call: null },
    });
    expect(t.upstreamCalls).toEqual(["recentItems", "callRequest"]);
  });

  it("a run's start reads the quota and the thread with its held messages: no reads or lease save of their own", async () => {
    const t = setup();
    const seen: string[] = [];
    const deps = {
      ...t.deps,
      // A short budget: the conversation's create would need a lease longer than the step's own.
      config: {
        ...t.deps.config,
        drive: { ...t.deps.config.drive, budgetMs: 2_500 },
        tenantDefaults: { monthlyTokens: 0 },
      },
      threads: {
        get: async () => void seen.push("threads.get"),
        setConversationId: async () => "conv_1",
      },
      usage: {
        tokenQuotaReached: async () => {
          seen.push("usage.tokenQuotaReached");
          return null;
        },
      },
      messages: {
        takeHeld: async (_t: string, _th: string, _r: string, opts: { reading?: { leaseUntil: number } }) => {
          seen.push(`takeHeld ${opts.reading ? "reading" : "plain"}`);
          const thread = { id: "thread_1", conversation_id: "conv_1", files_store: null, tool_resources: {} };
          const read = { leaseUntil: opts.reading?.leaseUntil ?? null, tokenQuota: null, thread };
          return { kind: "taken", held: [], merged: [], fanout: [], read };
        },
      },
    } as unknown as Deps;
    expect(await driveStep(deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("done");
    expect(seen).toEqual(["takeHeld reading"]);
    // The claim, the create's intent, the end: no save only to extend the lease.
    expect(t.store.calls).toEqual(["claim", "save", "save"]);
    expect(t.calls).toHaveLength(1);
  });

  it("ends the run in one request that saves and releases, and the delivery saves nothing more", async () => {
    const t = setup(newRun(), {}, { releaseSave: true });
    expect(await driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("done");
    t.store.calls.length = 0;
    expect(await driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "hi!")))).toBe("done");
    // Before: claim, releaseThread, the save before the delivery, the save that finishes.
    expect(t.store.calls).toEqual(["claim", "releaseSave", "save"]);
    expect(t.store.state).toMatchObject({ released: 1, lease: null, seq: 2 });
    expect(t.store.state.run).toMatchObject({ status: "completed", thread_released: true });
  });

  it("a run's end whose lease was lost meanwhile releases nothing and fails the step", async () => {
    const t = setup(newRun(), {}, { releaseSave: true });
    expect(await driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("done");
    t.store.loseLease();
    await expect(driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "hi!")))).rejects.toThrow(
      /lease lost/,
    );
    expect(t.store.state.released).toBe(0);
  });

  it("with an answer cut to QStash's message size: fetches the response by id", async () => {
    const t = await sent({ getResponse: async () => answer("whole", { id: "resp_7" }) });
    const cut = JSON.stringify(openaiResponse("resp_7", "x".repeat(100))).slice(0, 60);
    expect(await driveCalled(t.deps, ref(), { status: 200, header: {}, body: cut, error: null })).toBe(
      "done",
    );
    expect(t.upstreamCalls).toEqual(["recentItems", "callRequest", "getResponse"]);
    expect(t.store.state.run).toMatchObject({ status: "completed", output: { text: "whole" } });
  });

  it("with an error OpenAI answered: a new attempt after the backoff, under a new key", async () => {
    const t = await sent();
    const refused: CallReport = {
      status: 429,
      header: { "Retry-After": ["3"] },
      body: JSON.stringify({ error: { message: "slow down", code: "rate_limit_exceeded" } }),
      error: null,
    };
    // A wait of 3 s is slept through in the step, which then sends the next attempt.
    expect(await driveCalled(t.deps, ref(), refused)).toBe("done");
    expect(t.clock.sleeps).toEqual([3 * S]);
    expect(t.calls.map((c) => c.ref.key)).toEqual(["0.0.0", "0.0.1"]);
    expect(t.store.state.run?.upstream).toMatchObject({ call: { key: "0.0.1" }, failures: 1 });
    // A longer backoff ends the step and schedules the next one.
    const slower = { ...refused, header: { "Retry-After": ["30"] } };
    expect(await driveCalled(t.deps, ref("0.0.1"), slower)).toBe("scheduled");
    expect(t.published).toEqual([{ delayMs: 30 * S, reason: "next" }]);
  });

  it("with no answer before the deadline: the run fails, the round is not created again", async () => {
    const t = await sent();
    const lost: CallReport = { status: 0, header: {}, body: "", error: "connection reset" };
    expect(await driveCalled(t.deps, ref(), lost)).toBe("done");
    expect(t.store.state.run).toMatchObject({
      status: "failed",
      last_error: { code: "upstream_outcome_unknown" },
      thread_released: true,
    });
    expect(t.calls).toHaveLength(1);
  });

  it("after the deadline: the run expires; a late answer's function calls are closed in the conversation", async () => {
    const items: unknown[] = [];
    const t = await sent({ addItems: async (_c, added) => void items.push(...added) });
    t.clock.advance(601 * S);
    const late = {
      ...openaiResponse("resp_8", ""),
      output: [{ type: "function_call", id: "fc_1", call_id: "call_1", name: "f", arguments: "{}" }],
    };
    expect(await driveCalled(t.deps, ref(), ok(late))).toBe("done");
    expect(t.store.state.run).toMatchObject({ status: "expired", calls_closed: true, thread_released: true });
    expect(items).toMatchObject([{ type: "function_call_output", call_id: "call_1" }]);
  });

  it("for an attempt the run does not wait for: stale, nothing changes", async () => {
    const t = await sent();
    const before = t.store.state.run;
    expect(await driveCalled(t.deps, ref("0.0.9"), ok(openaiResponse("resp_x", "no")))).toBe("stale");
    expect(t.store.state.run).toBe(before);
  });

  it("redelivered after its step could not finish the run's end (a refused publish): the end is finished", async () => {
    const t = await sent();
    const release = t.store.store.releaseThread;
    let refuse = true;
    t.store.store.releaseThread = async (...a: Parameters<typeof release>) => {
      if (refuse) {
        refuse = false;
        throw queueRefused("rate_limit", 1);
      }
      return release(...a);
    };
    await expect(driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "done")))).rejects.toThrow(
      /rate limit/,
    );
    expect(t.store.state.run).toMatchObject({ status: "completed", thread_released: false });
    // QStash delivers the callback again: the answer is taken already, but the end is not done.
    expect(await driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "done")))).toBe("done");
    expect(t.store.state.run).toMatchObject({ status: "completed", thread_released: true });
    expect(t.store.state.released).toBe(1);
  });

  it("waits out the step that sent the call still holding the run (a starved Worker), past a drive step's wait", async () => {
    // The start step holds the lease for 5 s more (its save after the publish, on a Worker short of
    // CPU): a callback refused as busy would cost QStash's redelivery, one more invocation.
    const t = await sent();
    t.store.holdBy("lease_start", t.clock.now() + 5 * S);
    const start = t.clock.now();
    expect(await driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "hi!")))).toBe("done");
    expect(t.clock.now() - start).toBeGreaterThan(STEP_CLAIM_WAIT_MS);
    expect(t.store.state.run).toMatchObject({ status: "completed", output: { text: "hi!" } });
    expect(t.published).toEqual([]);
  });

  it("a lease held past the callback's wait: busy after CALLBACK_CLAIM_MAX_ATTEMPTS claims, the run untouched", async () => {
    const t = await sent();
    const before = t.store.state.run;
    t.store.holdBy("lease_other", t.clock.now() + 60 * S);
    const claimsBefore = t.store.calls.filter((c) => c === "claim").length;
    const busy = { retryAfterMs: null as number | null };
    const start = t.clock.now();
    expect(await driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "hi!")), busy)).toBe("busy");
    expect(t.clock.now() - start).toBe(CALLBACK_CLAIM_WAIT_MS);
    expect(t.store.calls.filter((c) => c === "claim").length - claimsBefore).toBe(
      CALLBACK_CLAIM_MAX_ATTEMPTS,
    );
    expect(busy.retryAfterMs).toBe(50 * S);
    expect(t.store.state.run).toBe(before);
  });

  it("when the step that sent the call died before saving it: the answer is still taken", async () => {
    const t = setup(); // nothing saved: the run would send call 0.0.0 now
    expect(await driveCalled(t.deps, ref(), ok(openaiResponse("resp_7", "saved")))).toBe("done");
    expect(t.store.state.run).toMatchObject({ status: "completed", output: { text: "saved" } });
  });
});

describe("a round's call published again while the first is still out", () => {
  const lookFailed = () =>
    new UpstreamError({
      message: "boom",
      code: "upstream_error",
      retryable: true,
      status: 500,
      retryAfterMs: null,
    });

  /**
   * The start step publishes call 0.0.0 and its last save fails before Redis writes it (the lease is
   * let go of; QStash runs the step again). The retried step finds the round's intent, looks at the
   * conversation for a lost create, and that read fails once; after the backoff it looks again and
   * finds nothing (the call is late: its response does not exist yet).
   */
  async function republished() {
    const t = setup();
    let looks = 0;
    t.deps.upstream.recentItems = async () => {
      looks += 1;
      // The first look is the start's (calls an earlier run left open); the retried step's fails.
      if (looks === 2) throw lookFailed();
      return [];
    };
    const save = t.store.store.save;
    let failed = false;
    t.store.store.save = async (...a: Parameters<typeof save>) => {
      if (a[2] && !failed) {
        failed = true;
        throw new Error("ERR injected error_before fault");
      }
      return save(...a);
    };
    await expect(driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).rejects.toThrow(/injected/);
    expect(t.store.state.run?.upstream.call ?? null).toBeNull();
    expect(await driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: 0 })).toBe("done");
    return t;
  }

  it("builds the same key, so QStash drops the copy: one response for the round", async () => {
    const t = await republished();
    expect(t.calls.map((c) => c.ref.key)).toEqual(["0.0.0", "0.0.0"]);
    expect(t.store.state.run?.upstream.call).toMatchObject({ key: "0.0.0" });
    // The first call's answer is the round's.
    expect(await driveCalled(t.deps, ref("0.0.0"), ok(openaiResponse("resp_7", "once")))).toBe("done");
    expect(t.store.state.run).toMatchObject({ status: "completed", output: { text: "once" } });
  });

  it("an answer OpenAI refused still moves the key on, so the next attempt is sent", async () => {
    const t = await republished();
    const refused = {
      status: 429,
      header: {},
      body: JSON.stringify({ error: { message: "slow down" } }),
      error: null,
    };
    expect(await driveCalled(t.deps, ref("0.0.0"), refused)).toBe("done");
    expect(t.calls.map((c) => c.ref.key)).toEqual(["0.0.0", "0.0.0", "0.0.1"]);
  });

  it("a callback that comes while the run waits out the failed look's backoff is taken, not dropped", async () => {
    // The run as the retried step saved it: the intent kept, no call, a retry due later.
    const t = setup();
    const waiting = transition(
      transition(
        transition(newRun(), { type: "conversation_ready", conversation_id: "conv_1" }, T0),
        { type: "create_started", key: "0.0" },
        T0,
      ),
      {
        type: "upstream_failed",
        retryable: true,
        error: { code: "upstream_error", message: "boom" },
        retry_after_ms: 5 * S,
        outcome_unknown: true,
      },
      T0,
    );
    expect(callKey(waiting)).toBe("0.0.0");
    t.store.state.run = waiting;
    expect(await driveCalled(t.deps, ref("0.0.0"), ok(openaiResponse("resp_7", "kept")))).toBe("done");
    expect(t.store.state.run).toMatchObject({ status: "completed", output: { text: "kept" } });
    expect(t.calls).toEqual([]);
  });
});

describe("a step that finds the run still waiting for its call's answer (its callback dead-lettered)", () => {
  const step = (t: Awaited<ReturnType<typeof sent>>) =>
    driveStep(t.deps, { tenant: "t1", run_id: "run_1", seq: t.store.state.seq });

  it("adopts the round's response from the conversation when it has ended", async () => {
    const t = await sent({
      recentItems: async () => [
        { id: "msg_a", type: "message", role: "assistant", text: "answer", other_parts: 0 },
        { id: "msg_u", type: "message", role: "user", text: "hi", other_parts: 0 },
      ],
    });
    t.clock.advance(60 * S);
    expect(await step(t)).toBe("done");
    expect(t.store.state.run).toMatchObject({
      status: "completed",
      output: { text: "answer" },
      thread_released: true,
      upstream: { call: null },
    });
  });

  it("keeps waiting while the response has not ended, and looks again only later", async () => {
    const t = await sent();
    t.clock.advance(60 * S);
    expect(await step(t)).toBe("done");
    expect(t.store.state.run?.status).toBe("in_progress");
    expect(t.store.state.run?.upstream.call).toMatchObject({ key: "0.0.0", looked_at_ms: T0 + 60 * S });
    expect(t.upstreamCalls.filter((c) => c === "recentItems")).toHaveLength(2); // before the call, now
    expect(await step(t)).toBe("done");
    expect(t.upstreamCalls.filter((c) => c === "recentItems")).toHaveLength(2);
  });

  it("past the call's timeout and its callback's retries: the call is lost, the run ends and lets go", async () => {
    const t = await sent();
    t.clock.advance(602 * S + 61 * S);
    expect(await step(t)).toBe("done");
    expect(t.store.state.run).toMatchObject({
      status: "expired",
      thread_released: true,
      upstream: { call: null },
    });
  });
});

describe("readCallAnswer", () => {
  it("classifies OpenAI's errors as the SDK adapter does", () => {
    const locked = readCallAnswer(
      400,
      {},
      JSON.stringify({ error: { message: "locked", code: "conversation_locked" } }),
    );
    expect(locked).toMatchObject({ kind: "error", error: { retryable: true, retryAfterMs: 1000 } });
    const bad = readCallAnswer(400, {}, JSON.stringify({ error: { message: "no", code: "invalid_value" } }));
    expect(bad).toMatchObject({ kind: "error", error: { retryable: false, code: "invalid_value" } });
    expect(readCallAnswer(503, {}, "")).toMatchObject({ kind: "error", error: { retryable: true } });
  });
});
