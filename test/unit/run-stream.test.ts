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

async function streamOf(
  records: RunRecord[],
  follow: (emit: (e: FollowEvent) => Promise<void>) => Promise<void>,
) {
  let i = 0;
  const deps = {
    runs: { get: async () => ({ run: records[Math.min(i++, records.length - 1)] as RunRecord, seq: 0 }) },
    upstream: {
      follow: (_id: string, _signal: AbortSignal, onEvent: (e: FollowEvent) => void | Promise<void>) =>
        follow(async (e) => void (await onEvent(e))),
    },
    sleep: async () => {},
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
  stream.on("textDelta", (d) => deltas.push(d.value ?? ""));
  const run = await stream.finalRun();
  return { run, deltas, messages: await stream.finalMessages() };
}

describe("run stream", () => {
  it("without an upstream stream, sends the answer in one piece once the run has it", async () => {
    const out = await streamOf([running, running, done], async () => {
      throw new Error("stream not available");
    });
    expect(out.run.status).toBe("completed");
    expect(out.deltas).toEqual(["hello world"]);
    expect(out.messages).toHaveLength(1);
  });

  it("finishes an answer whose upstream stream broke off from the record: the rest of its text, once", async () => {
    const out = await streamOf([running, running, done], async (emit) => {
      await emit({ type: "message_started", item_id: "msg_1" });
      await emit({ type: "text_delta", item_id: "msg_1", content_index: 0, delta: "hello" });
      throw new Error("connection reset");
    });
    expect(out.deltas).toEqual(["hello", " world"]);
    expect(out.messages.map((m) => m.id)).toEqual(["msg_1"]);
    expect(out.run.status).toBe("completed");
  });
});
