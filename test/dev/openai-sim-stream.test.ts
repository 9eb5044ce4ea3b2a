// dev/openai-sim streaming: sequence numbers, resume with starting_after, pacing in (scaled) real time.
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";

const MODEL = "gpt-4.1-mini";
const SCALE = 0.2; // a scripted 5 s response takes 1 s here

let sim: OpenAISimHandle;
let client: OpenAI;

beforeAll(async () => {
  sim = await startOpenAISim({ timeScale: SCALE });
  client = new OpenAI({ baseURL: sim.baseURL, apiKey: sim.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await sim?.close();
});

type Timed = { event: ResponseStreamEvent; at: number };

async function collect(stream: AsyncIterable<ResponseStreamEvent>, stopAfter = Number.POSITIVE_INFINITY) {
  const events: Timed[] = [];
  for await (const event of stream) {
    events.push({ event, at: Date.now() });
    if (event.sequence_number >= stopAfter) break;
  }
  return events;
}

const completedAt = async (id: string) =>
  ((await (await fetch(`${sim.url}/__sim/responses/${id}`)).json()) as { completed_at_ms: number })
    .completed_at_ms;

describe("streaming", () => {
  it("numbers every event and emits the documented lifecycle for a background stream", async () => {
    const stream = await client.responses.create({
      model: MODEL,
      input: 'hi #sim {"delay_ms": 1000, "chunks": 3}',
      background: true,
      stream: true,
    });
    const events = (await collect(stream)).map(({ event }) => event);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.queued",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const deltas = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : []));
    expect(deltas.join("")).toBe("echo: hi");
    const last = events.at(-1);
    expect(last?.type === "response.completed" && last.response.output[0]?.type).toBe("message");
  });

  it("resumes a background stream after a sequence_number with only later events", async () => {
    const stream = await client.responses.create({
      model: MODEL,
      input: 'resume me please #sim {"delay_ms": 2000, "chunks": 6}',
      background: true,
      stream: true,
    });
    const head = await collect(stream, 4);
    const first = head[0]?.event;
    const id = first?.type === "response.created" ? first.response.id : "";
    expect(head.at(-1)?.event.sequence_number).toBe(4);
    const resumed = await client.responses.retrieve(id, { stream: true, starting_after: 4 });
    const tail = (await collect(resumed)).map(({ event }) => event);
    expect(tail[0]?.sequence_number).toBe(5);
    expect(tail.every((e) => e.sequence_number > 4)).toBe(true);
    expect(tail.at(-1)?.type).toBe("response.completed");
    const text = [...head.map(({ event }) => event), ...tail]
      .flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : []))
      .join("");
    expect(text).toBe("echo: resume me please");
    // The SDK helper replays from the start and filters locally: also only later events.
    const helper = client.responses.stream({ response_id: id, starting_after: 8 });
    const seen: number[] = [];
    helper.on("event", (event) => seen.push(event.sequence_number));
    const final = await helper.finalResponse();
    expect(Math.min(...seen)).toBe(9);
    expect(final.output_text).toBe("echo: resume me please");
  });

  it("paces a stream resumed mid-way through a 5 s response in real time until the terminal event", async () => {
    const created = await client.responses.create({
      model: MODEL,
      input: 'pace #sim {"delay_ms": 5000, "chunks": 8}',
      background: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 400)); // 40% of the way through
    const opened = Date.now();
    const resumed = await client.responses.retrieve(created.id, { stream: true, starting_after: 2 });
    const tail = await collect(resumed);
    const terminal = tail.at(-1);
    expect(terminal?.event.type).toBe("response.completed");
    const doneAt = await completedAt(created.id);
    // Later deltas were not dumped at once: they kept arriving until the response really finished.
    expect((terminal?.at ?? 0) - opened).toBeGreaterThan(450);
    expect(terminal?.at ?? 0).toBeGreaterThanOrEqual(doneAt);
    const deltas = tail.filter(({ event }) => event.type === "response.output_text.delta");
    expect((deltas.at(-1)?.at ?? 0) - (deltas[0]?.at ?? 0)).toBeGreaterThan(200);
    // Right after the terminal event, polling agrees.
    expect((await client.responses.retrieve(created.id)).status).toBe("completed");
  });

  it("paces a non-background stream from creation to the terminal event", async () => {
    const started = Date.now();
    const stream = await client.responses.create({
      model: MODEL,
      input: 'live #sim {"delay_ms": 1500}',
      stream: true,
    });
    const events = await collect(stream);
    expect(events[0]?.event.type).toBe("response.created");
    expect(events.some(({ event }) => event.type === "response.queued")).toBe(false);
    expect((events.at(-1)?.at ?? 0) - started).toBeGreaterThanOrEqual(1500 * SCALE - 5);
  });

  it("streams function-call arguments, accepted by the SDK's ResponseStream", async () => {
    const stream = client.responses.stream({
      model: MODEL,
      input:
        'call #sim {"tool_calls": [{"name": "lookup", "arguments": {"q": "x"}}], "delay_ms": 500, "chunks": 2}',
      tools: [
        { type: "function", name: "lookup", parameters: { type: "object", properties: {} }, strict: false },
      ],
    });
    const types: string[] = [];
    stream.on("event", (event) => types.push(event.type));
    const final = await stream.finalResponse();
    expect(types.filter((t) => t === "response.function_call_arguments.delta")).toHaveLength(2);
    expect(types).toContain("response.function_call_arguments.done");
    const call = final.output[0];
    expect(call?.type === "function_call" && JSON.parse(call.arguments)).toEqual({ q: "x" });
  });

  it("ends a failed stream with response.failed", async () => {
    const stream = await client.responses.create({
      model: MODEL,
      input: 'x #sim {"fail": {"code": "server_error", "message": "nope"}, "delay_ms": 300}',
      stream: true,
    });
    const last = (await collect(stream)).at(-1)?.event;
    expect(last?.type).toBe("response.failed");
    expect(last?.type === "response.failed" && last.response.error?.message).toBe("nope");
  });

  it("ends the stream of a cancelled background response without a terminal event", async () => {
    const stream = await client.responses.create({
      model: MODEL,
      input: 'x #sim {"delay_ms": 3000}',
      background: true,
      stream: true,
    });
    const events: ResponseStreamEvent[] = [];
    let id = "";
    for await (const event of stream) {
      events.push(event);
      if (event.type === "response.created") id = event.response.id;
      if (event.type === "response.in_progress") await client.responses.cancel(id);
    }
    expect(events.at(-1)?.type).not.toBe("response.completed");
    expect((await client.responses.retrieve(id)).status).toBe("cancelled");
  });

  it("refuses GET ?stream=true on a synchronous response", async () => {
    const done = await client.responses.create({ model: MODEL, input: 'x #sim {"delay_ms": 0}' });
    const error = await client.responses.retrieve(done.id, { stream: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
