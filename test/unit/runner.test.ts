/**
 * `driveStep` and `driveEnded` with narrow fakes: an in-memory run store fenced like the Lua
 * scripts, a queue that records publishes, a scripted upstream and a clock that moves only when the
 * step sleeps. What a step claims, calls, saves and schedules, and which outcome it answers.
 */
import { describe, expect, it } from "vitest";
import type { DriveStrategy } from "../../src/config";
import { transition } from "../../src/engine/run";
import type { RunRecord } from "../../src/engine/types";
import type { Deps } from "../../src/steps/actions";
import { driveEnded, driveStep } from "../../src/steps/runner";
import { UpstreamError } from "../../src/upstream/openai";
import {
  answer,
  fakeClock,
  fakeQueue,
  fakeRunStore,
  fakeUpstream,
  newRun,
  resp,
  S,
  T0,
  withResponse,
} from "./step-fakes";

const msg = (seq: number) => ({ tenant: "t1", run_id: "run_1", seq });

/** A step's deps over one stored run at `seq`; only what the runner and the drives call is real. */
function setup(opts: {
  run?: RunRecord | null;
  seq?: number;
  strategy?: DriveStrategy;
  upstream?: Parameters<typeof fakeUpstream>[0];
}) {
  const clock = fakeClock();
  const store = fakeRunStore(opts.run === undefined ? newRun() : opts.run, opts.seq ?? 0);
  const queue = fakeQueue();
  const upstream = fakeUpstream(opts.upstream ?? {});
  const threads = {
    get: async () => ({ conversation_id: null }),
    setConversationId: async (_tenant: string, _thread: string, id: string) => id,
  };
  const config = { drive: { strategy: opts.strategy ?? "poll", budgetMs: 25 * S }, devMode: false };
  const deps = {
    config,
    runs: store.store,
    threads,
    queue,
    upstream,
    webhookSecrets: async () => [],
    now: clock.now,
    sleep: clock.sleep,
  } as unknown as Deps;
  return { deps, clock, store, queue, upstream };
}

const rateLimited = (retryAfterMs: number | null) =>
  new UpstreamError({
    message: "Rate limit reached",
    code: "rate_limit_exceeded",
    retryable: true,
    status: 429,
    retryAfterMs,
  });

describe("driveStep", () => {
  it("a fresh run: creates the conversation and the response, saves, schedules seq+1 (poll)", async () => {
    const t = setup({
      upstream: {
        createConversation: async () => "conv_1",
        createResponse: async () => resp("queued"),
      },
    });
    expect(await driveStep(t.deps, msg(0))).toBe("scheduled");
    expect(t.upstream.calls).toEqual(["createConversation", "createResponse"]);
    expect(t.queue.published).toEqual([{ msg: msg(1), delayMs: 2 * S, reason: "next" }]);
    expect(t.store.saves.map((s) => [s.run.upstream.response_id, s.finish])).toEqual([
      [null, false], // the create's intent is durable before the create is sent
      ["resp_1", false], // the response id is durable before the step goes on
      ["resp_1", true], // the step's end: the seq moves on, the lease is dropped
    ]);
    expect(t.store.state).toMatchObject({ seq: 1, lease: null });
    expect(t.store.state.run?.upstream.conversation_id).toBe("conv_1");
  });

  it("the thread learns the conversation the run made in its next save's request (the create's intent)", async () => {
    const order: string[] = [];
    const t = setup({
      upstream: {
        createConversation: async () => {
          order.push("createConversation");
          return "conv_1";
        },
        createResponse: async () => {
          order.push("createResponse");
          return resp("queued");
        },
      },
    });
    t.deps.threads.setConversationId = async (_tenant, _thread, id) => {
      order.push(`own request ${id}`);
      return id;
    };
    // A store that saves with the thread's conversation (RunStore.saveWith), over the fake's save.
    const save = t.deps.runs.save.bind(t.deps.runs);
    t.deps.runs.saveWith = async (r, owner, finish, at, _events, conversation) => {
      order.push(`save with ${conversation ?? "none"}`);
      return { seq: await save(r, owner, finish, at), kick: false };
    };
    expect(await driveStep(t.deps, msg(0))).toBe("scheduled");
    expect(order).toEqual([
      "createConversation",
      "save with conv_1", // the create's intent
      "createResponse",
      "save with none",
      "save with none",
    ]);
    expect(t.store.state.run?.upstream.conversation_made).toBe(true);
  });

  it("the webhook strategy schedules only its safety-net poll, 20 s later", async () => {
    const t = setup({
      strategy: "webhook",
      upstream: { createConversation: async () => "conv_1", createResponse: async () => resp("queued") },
    });
    expect(await driveStep(t.deps, msg(0))).toBe("scheduled");
    expect(t.queue.published.map((p) => p.delayMs)).toEqual([20 * S]);
  });

  it("a run streamed to its end is finished in one step: thread released, no next step", async () => {
    const t = setup({
      strategy: "stream",
      upstream: {
        createConversation: async () => "conv_1",
        createAndStream: async (_req, _until, onProgress) => {
          await onProgress(resp("in_progress"), 0);
          return { response: answer("hello"), cursor: 5 };
        },
      },
    });
    expect(await driveStep(t.deps, msg(0))).toBe("done");
    expect(t.store.calls).toContain("releaseThread");
    expect(t.queue.published).toEqual([]);
    expect(t.store.state.run).toMatchObject({ status: "completed", thread_released: true });
    expect(t.store.saves.at(-1)?.finish).toBe(true);
  });

  it("a stale seq answers stale and does nothing else", async () => {
    const t = setup({ seq: 5 });
    expect(await driveStep(t.deps, msg(4))).toBe("stale");
    expect(t.store.calls).toEqual(["claim"]);
    expect(t.upstream.calls).toEqual([]);
    expect(t.queue.published).toEqual([]);
  });

  it("a missing run answers missing", async () => {
    const t = setup({ run: null });
    expect(await driveStep(t.deps, msg(0))).toBe("missing");
    expect(t.upstream.calls).toEqual([]);
  });

  it("a run held by another step answers busy after the bounded wait, with no other I/O", async () => {
    const t = setup({});
    t.store.holdBy("lease_other", T0 + 60 * S);
    expect(await driveStep(t.deps, msg(0))).toBe("busy");
    expect(t.store.calls).toEqual(Array(8).fill("claim"));
    expect(t.clock.now()).toBe(T0 + 2 * S);
    expect(t.upstream.calls).toEqual([]);
    expect(t.queue.published).toEqual([]);
  });

  it("a claim freed while the step waits is taken and the step goes on", async () => {
    const t = setup({
      upstream: { createConversation: async () => "conv_1", createResponse: async () => resp("queued") },
    });
    t.store.holdBy("lease_other", T0 + 100);
    expect(await driveStep(t.deps, msg(0))).toBe("scheduled");
    expect(t.clock.sleeps.slice(0, 3)).toEqual([25, 50, 100]); // claims at 0, 25, 75, 175 ms
    expect(t.store.calls.filter((c) => c === "claim")).toHaveLength(4);
  });

  it("an upstream 429 is not thrown: the run records it and the retry is scheduled", async () => {
    const t = setup({
      upstream: {
        createConversation: async () => "conv_1",
        createResponse: async () => {
          throw rateLimited(5 * S);
        },
      },
    });
    expect(await driveStep(t.deps, msg(0))).toBe("scheduled");
    expect(t.queue.published).toEqual([{ msg: msg(1), delayMs: 5 * S, reason: "next" }]);
    expect(t.store.state.run?.upstream).toMatchObject({ failures: 1, retry_at_ms: T0 + 5 * S });
    expect(t.store.state.run?.status).toBe("queued");
  });

  it("a short backoff is slept through inside the step, then the call is retried", async () => {
    let attempts = 0;
    const t = setup({
      upstream: {
        createConversation: async () => "conv_1",
        createResponse: async () => {
          attempts += 1;
          if (attempts === 1) throw rateLimited(null);
          return resp("queued");
        },
      },
    });
    expect(await driveStep(t.deps, msg(0))).toBe("scheduled");
    expect(t.clock.sleeps).toEqual([S]); // the first backoff, 1 s
    expect(t.upstream.calls).toEqual(["createConversation", "createResponse", "createResponse"]);
    expect(t.queue.published.map((p) => p.delayMs)).toEqual([2 * S]);
  });

  it("a lost lease on save throws (QStash retries the step) and schedules nothing", async () => {
    const t = setup({
      upstream: { createConversation: async () => "conv_1", createResponse: async () => resp("queued") },
    });
    t.store.loseLease();
    await expect(driveStep(t.deps, msg(0))).rejects.toThrow("lease lost");
    expect(t.queue.published).toEqual([]);
    expect(t.store.calls.at(-1)).toBe("unlock"); // the redelivery need not wait for the lease
  });

  it("other errors propagate after the claim is given back", async () => {
    const t = setup({
      upstream: {
        createConversation: async () => {
          throw new Error("socket hang up");
        },
      },
    });
    await expect(driveStep(t.deps, msg(0))).rejects.toThrow("socket hang up");
    expect(t.store.state.lease).toBeNull();
  });
});

describe("driveEnded (OpenAI's end webhook)", () => {
  const live = () => transition(withResponse(), { type: "tick" }, T0);

  it("claims the run at whatever seq it is at, feeds the ended response and finishes it", async () => {
    const t = setup({
      run: live(),
      seq: 3,
      strategy: "webhook",
      upstream: { getResponse: async () => answer("hi", { owner: { tenant: "t1", run_id: "run_1" } }) },
    });
    expect(await driveEnded(t.deps, "resp_1")).toBe("done");
    expect(t.upstream.calls).toEqual(["getResponse"]);
    expect(t.store.state).toMatchObject({ seq: 4, run: { status: "completed", thread_released: true } });
  });

  it("a response that is not the run's current one leaves the run alone", async () => {
    const run = live();
    const known = {
      ...run,
      upstream: { ...run.upstream, response_ids: ["resp_0", ...run.upstream.response_ids] },
    };
    const t = setup({
      run: known,
      upstream: {
        getResponse: async () => answer("old", { id: "resp_0", owner: { tenant: "t1", run_id: "run_1" } }),
      },
    });
    expect(await driveEnded(t.deps, "resp_0")).toBe("stale");
    expect(t.store.saves).toEqual([]);
    expect(t.store.state.lease).toBeNull();
  });

  it("a response of the run it never knew (a create's lost answer) only has its tokens counted", async () => {
    const t = setup({
      run: live(),
      upstream: {
        getResponse: async () => answer("stray", { id: "resp_x", owner: { tenant: "t1", run_id: "run_1" } }),
      },
    });
    expect(await driveEnded(t.deps, "resp_x")).toBe("stale");
    expect(t.store.saves.map((s) => [s.run.usage.total_tokens, s.run.upstream.counted_ids])).toEqual([
      [5, ["resp_x"]],
    ]);
    expect(t.store.state.run?.upstream.response_id).toBe("resp_1");
    expect(t.store.state.lease).toBeNull();
    // Offered to the month too, before the save (counted there only if the run's release was).
    expect(t.store.calls.filter((c) => c === "countLateUsage" || c === "save")).toEqual([
      "countLateUsage",
      "save",
    ]);
  });

  it("a response gone upstream, or not threadhook's, is missing", async () => {
    const gone = setup({
      upstream: {
        getResponse: async () => {
          throw new UpstreamError({
            message: "No response found",
            code: "not_found",
            retryable: false,
            status: 404,
            retryAfterMs: null,
          });
        },
      },
    });
    expect(await driveEnded(gone.deps, "resp_x")).toBe("missing");
    const foreign = setup({ upstream: { getResponse: async () => answer("x") } });
    expect(await driveEnded(foreign.deps, "resp_1")).toBe("missing");
    expect(foreign.store.calls).toEqual([]);
  });
});
