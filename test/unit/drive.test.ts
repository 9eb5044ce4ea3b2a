/**
 * Each drive strategy through the common `Drive` interface, with a scripted upstream, a recording
 * `save` and a fixed clock: what it asks upstream, what it saves, and when it ends the step.
 */
import { describe, expect, it } from "vitest";
import { transition } from "../../src/engine/run";
import type { RunRecord } from "../../src/engine/types";
import type { ResponseRequest } from "../../src/engine/upstream-types";
import { driveFor } from "../../src/steps/drive";
import { budgetPoll, pollIntervalMs } from "../../src/steps/drive/budget-poll";
import { poll } from "../../src/steps/drive/poll";
import { stream } from "../../src/steps/drive/stream";
import { safetyPollInMs, webhook } from "../../src/steps/drive/webhook";
import { UpstreamError } from "../../src/upstream/openai";
import { answer, fakeClock, fakeUpstream, inOrder, newRun, resp, S, T0, withResponse } from "./step-fakes";

const request = { model: "m", input: "hi", conversation: "conv_1" } as ResponseRequest;

/** Deps and an action context whose saves are recorded; the step's budget ends `budgetMs` from T0. */
function setup(upstream: Parameters<typeof fakeUpstream>[0], budgetMs = 25 * S) {
  const clock = fakeClock();
  const saved: RunRecord[] = [];
  const deps = {
    upstream: fakeUpstream(upstream),
    queue: { publishCall: async () => {} },
    config: { drive: { callMaxS: 900 } },
    now: clock.now,
    sleep: clock.sleep,
  };
  const ctx = {
    budgetEnd: T0 + budgetMs,
    save: async (r: RunRecord) => {
      saved.push(r);
    },
  };
  return { deps, ctx, clock, saved, calls: deps.upstream.calls };
}

const withConversation = () =>
  transition(newRun(), { type: "conversation_ready", conversation_id: "conv_1" }, T0);

describe("webhook strategy", () => {
  it("safety-net polls wait as long as the response is old, 20 s to 2 min", () => {
    const run = withResponse();
    expect(safetyPollInMs(run, T0)).toBe(20 * S);
    expect(safetyPollInMs(run, T0 + 20 * S)).toBe(20 * S);
    expect(safetyPollInMs(run, T0 + 40 * S)).toBe(40 * S);
    expect(safetyPollInMs(run, T0 + 80 * S)).toBe(80 * S);
    expect(safetyPollInMs(run, T0 + 160 * S)).toBe(120 * S);
  });

  it("never waits past the run's deadline", () => {
    expect(safetyPollInMs(withResponse(), T0 + 590 * S)).toBe(10 * S);
  });

  it("creates the response without streaming, saves it, and ends the step until the safety-net poll", async () => {
    const t = setup({ createResponse: async () => resp("queued") });
    const result = await webhook.start(t.deps, withConversation(), request, t.ctx);
    expect(t.calls).toEqual(["createResponse"]);
    expect(t.saved.map((r) => r.upstream.response_id)).toEqual(["resp_1"]);
    expect(result.yieldAfterMs).toBe(20 * S);
  });

  it("looks once per step and stops scheduling when the response ended", async () => {
    const t = setup({ getResponse: inOrder(resp("in_progress"), answer("done")) });
    const first = await webhook.follow(t.deps, withResponse(), "resp_1", null, t.ctx);
    expect(first).toMatchObject({ yieldAfterMs: 20 * S, run: { status: "in_progress" } });
    const second = await webhook.follow(t.deps, first.run, "resp_1", null, t.ctx);
    expect(second).toMatchObject({ yieldAfterMs: null, run: { status: "completed" } });
    expect(t.calls).toEqual(["getResponse", "getResponse"]);
    expect(t.saved).toEqual([]); // the runner saves when the step ends
  });
});

describe("poll strategy", () => {
  it("one GET per step, the next step 2 s later; none once the response ended", async () => {
    const t = setup({ getResponse: inOrder(resp("in_progress"), answer("done")) });
    const first = await poll.follow(t.deps, withResponse(), "resp_1", null, t.ctx);
    expect(first.yieldAfterMs).toBe(2 * S);
    t.clock.advance(2 * S);
    const second = await poll.follow(t.deps, first.run, "resp_1", null, t.ctx);
    expect(second).toMatchObject({ yieldAfterMs: null, run: { status: "completed" } });
    expect(t.clock.sleeps).toEqual([]);
  });

  it("creating the response also ends the step for 2 s", async () => {
    const t = setup({ createResponse: async () => resp("queued") });
    const result = await poll.start(t.deps, withConversation(), request, t.ctx);
    expect(result.yieldAfterMs).toBe(2 * S);
    expect(t.saved).toHaveLength(1);
  });
});

describe("budget-poll strategy", () => {
  it("the interval is a tenth of the response's age, 100 ms to 2 s", () => {
    expect(pollIntervalMs(0)).toBe(100);
    expect(pollIntervalMs(5 * S)).toBe(500);
    expect(pollIntervalMs(60 * S)).toBe(2 * S);
  });

  it("creates the response and goes on at once (its observe action polls)", async () => {
    const t = setup({ createResponse: async () => resp("queued") });
    const result = await budgetPoll.start(t.deps, withConversation(), request, t.ctx);
    expect(result.yieldAfterMs).toBeNull();
    expect(t.saved).toHaveLength(1);
  });

  it("polls inside the budget until the response ends, saving when the run starts", async () => {
    const t = setup({ getResponse: inOrder(resp("in_progress"), resp("in_progress"), answer("done")) });
    const result = await budgetPoll.follow(t.deps, withResponse(), "resp_1", null, t.ctx);
    expect(result).toMatchObject({ yieldAfterMs: null, run: { status: "completed" } });
    expect(t.clock.sleeps).toEqual([100, 100]);
    expect(t.saved.map((r) => r.status)).toEqual(["in_progress"]);
  });

  it("yields to the next step when the next poll would fall after the budget", async () => {
    const t = setup({ getResponse: async () => resp("in_progress") }, 150);
    const result = await budgetPoll.follow(t.deps, withResponse(), "resp_1", null, t.ctx);
    expect(t.clock.sleeps).toEqual([100]);
    expect(result.yieldAfterMs).toBe(100);
    expect(t.calls).toEqual(["getResponse", "getResponse"]);
  });
});

describe("stream strategy", () => {
  it("streams the new response to its end, saving its id and its start as they happen", async () => {
    let until = 0;
    const t = setup({
      createAndStream: async (_req, untilMs, onProgress) => {
        until = untilMs;
        await onProgress(resp("queued"), 0);
        await onProgress(resp("in_progress"), 1);
        return { response: answer("hello"), cursor: 9 };
      },
    });
    const result = await stream.start(t.deps, withConversation(), request, t.ctx);
    expect(until).toBe(T0 + 25 * S);
    expect(t.saved.map((r) => [r.upstream.response_id, r.status])).toEqual([
      ["resp_1", "queued"],
      ["resp_1", "in_progress"],
    ]);
    expect(result.yieldAfterMs).toBeNull();
    expect(result.run).toMatchObject({ status: "completed", output: { text: "hello" } });
    expect(result.run.upstream.stream_cursor).toBe(9);
  });

  // The runner records the create's intent before `start` (runner.ts).
  const intending = (run: ReturnType<typeof withConversation>) =>
    transition(run, { type: "create_started", key: "0.0" }, T0);

  it("a stream that ends before the response exists is a retryable upstream error", async () => {
    const t = setup({ createAndStream: async () => ({ response: null, cursor: null }) });
    const err = await stream
      .start(t.deps, intending(withConversation()), request, t.ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).retryable).toBe(true);
  });

  it("so is one in a later round, where the previous round's response id is still on the run", async () => {
    // Issue 13, finding 1: the guard looked at `response_id === null` only, so from the second
    // round on a create with no answer passed for the previous (ended) response and was made again.
    const t = setup({ createAndStream: async () => ({ response: null, cursor: null }) });
    const ended = transition(
      withResponse(),
      { type: "response_observed", response: resp("completed"), cursor: null },
      T0,
    );
    const err = await stream.start(t.deps, intending(ended), request, t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
  });

  it("resumes from the cursor; at the budget's end the next step goes on from the new cursor", async () => {
    let from: number | null = null;
    const t = setup({
      streamResponse: async (_id, cursor) => {
        from = cursor;
        t.clock.advance(25 * S);
        return { response: null, cursor: 40 };
      },
    });
    const result = await stream.follow(t.deps, withResponse(), "resp_1", 7, t.ctx);
    expect(from).toBe(7);
    expect(result.yieldAfterMs).toBe(0);
    expect(result.run.upstream.stream_cursor).toBe(40);
    expect(t.calls).toEqual(["streamResponse"]);
  });

  it("a stream that closed early is checked with one GET (a cancelled response sends no end event)", async () => {
    const t = setup({
      streamResponse: async () => ({ response: null, cursor: 3 }),
      getResponse: async () => resp("cancelled"),
    });
    const result = await stream.follow(t.deps, withResponse(), "resp_1", null, t.ctx);
    expect(t.calls).toEqual(["streamResponse", "getResponse"]);
    expect(result).toMatchObject({ yieldAfterMs: null, run: { status: "cancelled" } });
  });
});

describe("strategy index", () => {
  it("maps each configured strategy to its implementation", () => {
    expect(driveFor("stream")).toBe(stream);
    expect(driveFor("webhook")).toBe(webhook);
    expect(driveFor("poll")).toBe(poll);
    expect(driveFor("budget-poll")).toBe(budgetPoll);
  });
});
