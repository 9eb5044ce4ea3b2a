/**
 * The SSE loop's fallbacks, with in-memory deps: the run records come from a list (as QStash steps
 * would save them), the upstream stream fails at will. Parsed with the SDK's own AssistantStream.
 */
import { Hono } from "hono";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { runStream } from "../../src/api/assistants-v2/run-stream";
import { transition } from "../../src/engine/run";
import { plainRun, runInput } from "../support/run-fixtures";
import type { RunRecord } from "../../src/engine/types";
import type { ObservedResponse } from "../../src/engine/upstream-types";
import type { FollowEvent } from "../../src/upstream/openai";

const T0 = Date.now();
const resp = (status: ObservedResponse["status"], text = ""): ObservedResponse => ({
  id: "r1",
  status,
  tool_calls: [],
  message_id: text ? "msg_1" : null,
  content: text ? [{ type: "text", text: { value: text, annotations: [] } }] : [],
  usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
  error: null,
  incomplete_reason: null,
});
const base = plainRun({
  id: "run_x",
  tenant: "t",
  threadId: "thread_x",
  assistant: { ...runInput().assistant, id: "asst_x" },
  limits: { maxToolRounds: 3, requiresActionTimeoutS: 600 },
  now: T0,
});
const running = transition(
  transition(
    transition(base, { type: "conversation_ready", conversation_id: "c" }, T0 + 1),
    { type: "response_created", response: resp("queued") },
    T0 + 2,
  ),
  { type: "response_observed", response: resp("in_progress") },
  T0 + 3,
);
const done = transition(
  running,
  { type: "response_observed", response: resp("completed", "hello world") },
  T0 + 4,
);

/** The record a reader finds at `now`: the last one saved at or before it (as QStash steps save them). */
const savedAt = (saves: [number, RunRecord][], now: number) =>
  saves.filter(([at]) => at <= now).at(-1)?.[1] ?? base;

/**
 * Stream a run through the SDK's AssistantStream with a fake clock: sleeping advances it, reading
 * the run counts a Redis request, the upstream stream advances the clock as the model writes.
 */
async function streamOf(
  saves: [number, RunRecord][],
  follow: (emit: (e: FollowEvent) => Promise<void>, clock: { now: number }) => Promise<void>,
) {
  const clock = { now: T0 };
  let reads = 0;
  const deps = {
    runs: {
      get: async () => {
        reads++;
        return { run: savedAt(saves, clock.now - T0), seq: 0 };
      },
    },
    upstream: {
      follow: (_id: string, _signal: AbortSignal, onEvent: (e: FollowEvent) => void | Promise<void>) =>
        follow(async (e) => void (await onEvent(e)), clock),
    },
    sleep: async (ms: number) => {
      clock.now += ms;
    },
    now: () => clock.now,
  };
  const app = new Hono().post("/v1/threads/:thread/runs", (c) =>
    runStream(c, deps, base, { first: [{ event: "thread.run.created", data: base }], emitted: new Set() }),
  );
  // The SDK parses the SSE itself; its fetch goes straight into the app.
  const client = new OpenAI({
    apiKey: "k",
    baseURL: "http://local/v1",
    fetch: async (url, init) => app.request(String(url), init as RequestInit),
  });
  const stream = client.beta.threads.runs.stream("thread_x", { assistant_id: "asst_x" });
  const deltas: string[] = [];
  const events: string[] = [];
  stream.on("textDelta", (d) => deltas.push(d.value ?? "")).on("event", (e) => events.push(e.event));
  const run = await stream.finalRun();
  return { run, deltas, events, reads, messages: await stream.finalMessages(), elapsed: clock.now - T0 };
}

const unavailable = async () => {
  throw new Error("stream not available");
};

describe("run stream", () => {
  it("without an upstream stream, sends the answer in one piece once the run has it", async () => {
    const out = await streamOf(
      [
        [250, running],
        [1_000, done],
      ],
      unavailable,
    );
    expect(out.run.status).toBe("completed");
    expect(out.deltas).toEqual(["hello world"]);
    expect(out.messages).toHaveLength(1);
  });

  it("finishes an answer whose upstream stream broke off from the record: the rest of its text, once", async () => {
    const out = await streamOf(
      [
        [250, running],
        [1_000, done],
      ],
      async (emit) => {
        await emit({ type: "message_started", item_id: "msg_1" });
        await emit({ type: "text_delta", item_id: "msg_1", content_index: 0, delta: "hello" });
        throw new Error("connection reset");
      },
    );
    expect(out.deltas).toEqual(["hello", " world"]);
    expect(out.messages.map((m) => m.id)).toEqual(["msg_1"]);
    expect(out.run.status).toBe("completed");
  });

  it("relays a 5 s answer live with at most 4 reads of the run (Redis), in the reference order", async () => {
    const out = await streamOf(
      [
        [250, running],
        [5_030, done], // the drive step saves the end 30 ms after the model's last event
      ],
      async (emit, clock) => {
        await emit({ type: "message_started", item_id: "msg_1" });
        for (const word of ["hello", " ", "world"]) {
          clock.now += 1_500;
          await emit({ type: "text_delta", item_id: "msg_1", content_index: 0, delta: word });
        }
        clock.now = T0 + 5_000;
        const content = [{ type: "text" as const, text: { value: "hello world", annotations: [] } }];
        await emit({ type: "message_done", item_id: "msg_1", content });
      },
    );
    expect(out.run.status).toBe("completed");
    expect(out.deltas).toEqual(["hello", " ", "world"]);
    expect(out.events.filter((e, i) => e !== out.events[i - 1])).toEqual([
      "thread.run.created",
      "thread.run.queued",
      "thread.run.in_progress",
      "thread.run.step.created",
      "thread.run.step.in_progress",
      "thread.message.created",
      "thread.message.in_progress",
      "thread.message.delta",
      "thread.message.completed",
      "thread.run.step.completed",
      "thread.run.completed",
    ]);
    // Measured: 3 reads (old loop: 6, one every 100 ms whenever it was not relaying).
    expect(out.reads).toBeLessThanOrEqual(4);
    // The end reaches the client within one short re-read of the step saving it.
    expect(out.elapsed).toBeLessThan(5_030 + 200);
  });

  it("without a relay, a 20 s run costs about a dozen reads, not 10 a second", async () => {
    const out = await streamOf(
      [
        [250, running],
        [20_050, done],
      ],
      unavailable,
    );
    expect(out.run.status).toBe("completed");
    // Measured: 11 reads (old loop: 203).
    expect(out.reads).toBeLessThanOrEqual(12);
    // Reads thin out to one per READ_DELAYS_MS's last value: the end shows within 5 s.
    expect(out.elapsed).toBeLessThanOrEqual(20_050 + 5_000);
  });
});
