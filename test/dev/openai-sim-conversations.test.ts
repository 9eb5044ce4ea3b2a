// dev/openai-sim with the official `openai` SDK: conversations, items, the lock, function-call rounds.
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";
import { apiError, MODEL, settle, weatherTool } from "./openai-sim-helpers.ts";

const SCALE = 0.1; // every simulated delay runs at a tenth of its nominal length

let sim: OpenAISimHandle;
let client: OpenAI;

beforeAll(async () => {
  sim = await startOpenAISim({ timeScale: SCALE });
  client = new OpenAI({ baseURL: sim.baseURL, apiKey: sim.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => sim.reset());

describe("conversations", () => {
  it("creates with items and paginates items in both orders", async () => {
    const texts = ["m1", "m2", "m3", "m4", "m5"];
    const conversation = await client.conversations.create({
      metadata: { topic: "demo" },
      items: texts.map((text) => ({ type: "message" as const, role: "user" as const, content: text })),
    });
    expect(conversation.id).toMatch(/^conv_[0-9a-f]{48}$/);
    expect(conversation.metadata).toEqual({ topic: "demo" });
    const textOf = (item: unknown) => (item as { content: { text: string }[] }).content[0]?.text;
    const first = await client.conversations.items.list(conversation.id, { limit: 2, order: "asc" });
    expect(first.data.map(textOf)).toEqual(["m1", "m2"]);
    expect(first.has_more).toBe(true);
    const all: string[] = [];
    for await (const item of client.conversations.items.list(conversation.id, { limit: 2, order: "asc" })) {
      all.push(textOf(item) ?? "");
    }
    expect(all).toEqual(texts);
    const newest = await client.conversations.items.list(conversation.id, { limit: 3 });
    expect(newest.data.map(textOf)).toEqual(["m5", "m4", "m3"]);
    const next = await client.conversations.items.list(conversation.id, { limit: 3, after: newest.last_id });
    expect(next.data.map(textOf)).toEqual(["m2", "m1"]);
    expect(next.has_more).toBe(false);
  });

  it("gets, updates, deletes conversations and items; caps item batches at 20", async () => {
    const conversation = await client.conversations.create({});
    const added = await client.conversations.items.create(conversation.id, {
      items: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
    });
    const itemId = added.data[0]?.id ?? "";
    expect(itemId).toMatch(/^msg_/);
    expect((await client.conversations.items.retrieve(itemId, { conversation_id: conversation.id })).id).toBe(
      itemId,
    );
    const updated = await client.conversations.update(conversation.id, { metadata: { a: "b" } });
    expect(updated.metadata).toEqual({ a: "b" });
    expect((await client.conversations.retrieve(conversation.id)).metadata).toEqual({ a: "b" });
    await client.conversations.items.delete(itemId, { conversation_id: conversation.id });
    expect((await client.conversations.items.list(conversation.id)).data).toEqual([]);
    const tooMany = Array.from({ length: 21 }, () => ({
      type: "message" as const,
      role: "user" as const,
      content: "x",
    }));
    expect(
      (await apiError(client.conversations.items.create(conversation.id, { items: tooMany }))).status,
    ).toBe(400);
    expect((await client.conversations.delete(conversation.id)).deleted).toBe(true);
    expect((await apiError(client.conversations.retrieve(conversation.id))).status).toBe(404);
  });

  it("appends a completed response's input and output to its conversation", async () => {
    const conversation = await client.conversations.create({});
    // 20 s nominal (2 s here): still running when the items are first listed, even on a busy machine.
    const created = await client.responses.create({
      model: MODEL,
      input: 'hello there #sim {"delay_ms": 20000}',
      conversation: conversation.id,
      background: true,
    });
    expect((await client.conversations.items.list(conversation.id)).data).toEqual([]);
    await settle(client, created.id);
    const items = await client.conversations.items.list(conversation.id, { order: "asc" });
    expect(items.data.map((item) => (item.type === "message" ? item.role : item.type))).toEqual([
      "user",
      "assistant",
    ]);
  });

  it("rejects a second concurrent response on one conversation with conversation_locked", async () => {
    const conversation = await client.conversations.create({});
    const first = await client.responses.create({
      model: MODEL,
      input: 'one #sim {"delay_ms": 3000}',
      conversation: conversation.id,
      background: true,
    });
    const error = await apiError(
      client.responses.create({
        model: MODEL,
        input: "two",
        conversation: conversation.id,
        background: true,
      }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe("conversation_locked");
    expect(error.param).toBe("conversation");
    await settle(client, first.id);
    const second = await client.responses.create({
      model: MODEL,
      input: "two",
      conversation: conversation.id,
    });
    expect(second.output_text).toBe("echo: two");
  });
});

describe("function calling", () => {
  const script = (extra = "") =>
    `weather? #sim {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}], "delay_ms": 300${extra}}`;

  it("round-trips tool calls → function_call_output → 'tool results: …'", async () => {
    const conversation = await client.conversations.create({});
    const first = await settle(
      client,
      (
        await client.responses.create({
          model: MODEL,
          input: script(),
          tools: [weatherTool],
          conversation: conversation.id,
          background: true,
        })
      ).id,
    );
    const calls = first.output.filter((item) => item.type === "function_call");
    expect(calls.map((call) => JSON.parse(call.arguments))).toEqual([{ city: "Paris" }, { city: "Oslo" }]);
    expect(calls[0]?.id).toMatch(/^fc_/);
    expect(calls[0]?.call_id).toMatch(/^call_/);
    // Outputs sent in reverse order still come back in call order.
    const outputs = [...calls].reverse().map((call) => ({
      type: "function_call_output" as const,
      call_id: call.call_id,
      output: JSON.stringify({ city: JSON.parse(call.arguments).city, temp: 20 }),
    }));
    const second = await client.responses.create({
      model: MODEL,
      input: outputs,
      tools: [weatherTool],
      conversation: conversation.id,
    });
    expect(second.output_text).toBe('tool results: [{"city":"Paris","temp":20},{"city":"Oslo","temp":20}]');
  });

  it("does not call functions the request does not define", async () => {
    const done = await client.responses.create({ model: MODEL, input: script() });
    expect(done.output.map((item) => item.type)).toEqual(["message"]);
    expect(done.output_text).toBe("echo: weather?");
  });

  it("keeps calling for tool_rounds rounds along a previous_response_id chain", async () => {
    let response = await client.responses.create({
      model: MODEL,
      input: script(', "tool_rounds": 3'),
      tools: [weatherTool],
    });
    let rounds = 0;
    while (response.output.some((item) => item.type === "function_call")) {
      rounds++;
      const input = response.output
        .filter((item) => item.type === "function_call")
        .map((call) => ({
          type: "function_call_output" as const,
          call_id: call.call_id,
          output: `r${rounds}`,
        }));
      response = await client.responses.create({
        model: MODEL,
        input,
        tools: [weatherTool],
        previous_response_id: response.id,
      });
    }
    expect(rounds).toBe(3);
    expect(response.output_text).toBe('tool results: ["r3","r3"]');
  });

  it("fails later responses while a function_call is unanswered, until an output closes it", async () => {
    const conversation = await client.conversations.create({});
    const first = await client.responses.create({
      model: MODEL,
      input: script(),
      tools: [weatherTool],
      conversation: conversation.id,
    });
    const callIds = first.output.flatMap((item) => (item.type === "function_call" ? [item.call_id] : []));
    const error = await apiError(
      client.responses.create({ model: MODEL, input: "hi", conversation: conversation.id }),
    );
    expect(error.status).toBe(400);
    expect(error.message).toContain(`No tool output found for function call ${callIds[0]}.`);
    await client.conversations.items.create(conversation.id, {
      items: callIds.map((id) => ({
        type: "function_call_output" as const,
        call_id: id,
        output: "cancelled",
      })),
    });
    const after = await client.responses.create({ model: MODEL, input: "hi", conversation: conversation.id });
    expect(after.output_text).toBe("echo: hi");
    const orphan = await apiError(
      client.responses.create({
        model: MODEL,
        input: [{ type: "function_call_output", call_id: "call_unknown", output: "x" }],
        conversation: conversation.id,
      }),
    );
    expect(orphan.status).toBe(400);
  });
});
