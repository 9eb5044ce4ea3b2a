// Conformance of dev/openai-sim with the official `openai` SDK: responses, lifecycle, scripts, errors.
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";
import { apiError, MODEL, settle, simInfo, sleep } from "./openai-sim-helpers.ts";

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

describe("responses", () => {
  it("polls a background response until completed with output_text 'echo: hello'", async () => {
    const created = await client.responses.create({ model: MODEL, input: "hello", background: true });
    expect(created.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(created.status).toBe("queued");
    expect(created.output).toEqual([]);
    const seen: string[] = [];
    const done = await settle(client, created.id, seen);
    expect(done.status).toBe("completed");
    expect(done.output_text).toBe("echo: hello");
    expect(done.output[0]?.id).toMatch(/^msg_/);
    expect(seen).toContain("in_progress");
    // Deterministic usage: ceil(characters / 4) per text.
    expect(done.usage).toMatchObject({ input_tokens: 2, output_tokens: 3, total_tokens: 5 });
    const info = await simInfo(sim, created.id);
    expect(Number(info.completed_at_ms) - Number(info.created_at_ms)).toBeGreaterThanOrEqual(
      1500 * SCALE - 2,
    );
    expect(done.completed_at).toBe(Math.floor(Number(info.completed_at_ms) / 1000));
  });

  it("answers a synchronous create only once the response is finished", async () => {
    const started = Date.now();
    const done = await client.responses.create({ model: MODEL, input: 'slow #sim {"delay_ms": 2000}' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000 * SCALE - 5);
    expect(done.status).toBe("completed");
    expect(done.output_text).toBe("echo: slow");
  });

  it("cancels an in-progress background response, idempotently", async () => {
    const created = await client.responses.create({
      model: MODEL,
      input: 'long #sim {"delay_ms": 5000}',
      background: true,
    });
    await sleep(50);
    expect((await client.responses.retrieve(created.id)).status).toBe("in_progress");
    const cancelled = await client.responses.cancel(created.id);
    expect(cancelled.status).toBe("cancelled");
    expect((await client.responses.cancel(created.id)).status).toBe("cancelled");
    await sleep(5000 * SCALE + 50);
    expect((await client.responses.retrieve(created.id)).status).toBe("cancelled");
  });

  it("refuses to cancel a synchronous response", async () => {
    const done = await client.responses.create({ model: MODEL, input: 'x #sim {"delay_ms": 0}' });
    const error = await apiError(client.responses.cancel(done.id));
    expect(error.status).toBe(400);
  });

  it("answers from the conversation alone when a create has no input (the spec requires no field)", async () => {
    const conversation = await client.conversations.create({
      items: [
        { type: "message", role: "user", content: 'first #sim {"delay_ms": 400}' },
        { type: "message", role: "assistant", content: "echo: first" },
      ],
    });
    const again = await client.responses.create({
      model: MODEL,
      conversation: conversation.id,
      background: true,
    });
    const done = await settle(client, again.id, []);
    expect(done.output_text).toBe("echo: first");
    const info = await simInfo(sim, again.id);
    // The script's delay is inherited, as a follow-up's is.
    expect(Number(info.delay_ms)).toBe(400);
    const empty = await client.conversations.create({});
    const first = await client.responses.create({ model: MODEL, conversation: empty.id });
    expect(first.output_text).toBe("Hello! How can I help?");
    const items = await client.conversations.items.list(empty.id, { order: "asc" });
    expect(items.data.map((i: any) => i.role)).toEqual(["assistant"]);
  });

  it("refuses a create with neither input nor conversation, and any create without input when told to", async () => {
    for (const request of [
      () => client.responses.create({ model: MODEL } as never),
      async () => {
        const conversation = await client.conversations.create({});
        await fetch(`${sim.url}/__sim/config`, { method: "POST", body: '{"require_input": true}' });
        return client.responses.create({ model: MODEL, conversation: conversation.id });
      },
    ]) {
      const error = await apiError(request());
      expect(error.status).toBe(400);
      expect(error.param).toBe("input");
      expect(error.code).toBe("missing_required_parameter");
      expect(error.type).toBe("invalid_request_error");
    }
    await fetch(`${sim.url}/__sim/config`, { method: "POST", body: '{"require_input": false}' });
  });

  it("refuses conversation together with previous_response_id", async () => {
    const conversation = await client.conversations.create({});
    const first = await client.responses.create({ model: MODEL, input: 'a #sim {"delay_ms": 0}' });
    const error = await apiError(
      client.responses.create({
        model: MODEL,
        input: "b",
        conversation: conversation.id,
        previous_response_id: first.id,
      }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe("mutually_exclusive_parameters");
  });

  it("requires the Bearer key (401 in OpenAI's error shape)", async () => {
    const wrong = new OpenAI({ baseURL: sim.baseURL, apiKey: "sk-wrong-key-0000", maxRetries: 0 });
    const error = await apiError(wrong.responses.create({ model: MODEL, input: "hi" }));
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_api_key");
    const raw = await fetch(`${sim.baseURL}/responses/resp_x`);
    expect(raw.status).toBe(401);
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  });

  it("returns 404 for an unknown response, and deletes responses", async () => {
    expect((await apiError(client.responses.retrieve("resp_missing"))).status).toBe(404);
    const done = await client.responses.create({ model: MODEL, input: 'x #sim {"delay_ms": 0}' });
    await client.responses.delete(done.id);
    expect((await apiError(client.responses.retrieve(done.id))).status).toBe(404);
  });

  it("lists a response's input items", async () => {
    const done = await client.responses.create({
      model: MODEL,
      input: [
        { role: "user", content: "one" },
        { type: "message", role: "user", content: [{ type: "input_text", text: "two" }] },
      ],
    });
    expect(done.output_text).toBe("echo: two");
    const page = await client.responses.inputItems.list(done.id, { order: "asc" });
    expect(page.data.map((item) => item.type === "message" && item.content[0])).toEqual([
      { type: "input_text", text: "one" },
      { type: "input_text", text: "two" },
    ]);
  });
});

describe("scripts", () => {
  it("scripts reply, fail, incomplete and annotations", async () => {
    const reply = await client.responses.create({
      model: MODEL,
      input: 'q #sim {"reply": "Bonjour", "delay_ms": 0}',
    });
    expect(reply.output_text).toBe("Bonjour");
    const failed = await client.responses.create({
      model: MODEL,
      input: 'q #sim {"fail": {"code": "server_error", "message": "boom"}, "delay_ms": 0}',
    });
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual({ code: "server_error", message: "boom" });
    const incomplete = await client.responses.create({
      model: MODEL,
      input: 'q #sim {"incomplete": "max_output_tokens", "delay_ms": 0}',
    });
    expect(incomplete.status).toBe("incomplete");
    expect(incomplete.incomplete_details).toEqual({ reason: "max_output_tokens" });
    const cited = await client.responses.create({
      model: MODEL,
      input: 'q #sim {"annotations": true, "delay_ms": 0}',
    });
    const part = cited.output[0]?.type === "message" ? cited.output[0].content[0] : undefined;
    expect(part?.type === "output_text" && part.annotations[0]?.type).toBe("file_citation");
  });

  it("cuts a reply longer than max_output_tokens and ends incomplete", async () => {
    const long = "x".repeat(200);
    const done = await client.responses.create({ model: MODEL, input: long, max_output_tokens: 16 });
    expect(done.status).toBe("incomplete");
    expect(done.output_text).toHaveLength(64);
  });

  it("answers an http_error script with a 429 and its retry-after, then succeeds", async () => {
    const input =
      'limited #sim {"http_error": {"status": 429, "retry_after_s": 7, "times": 2}, "delay_ms": 0}';
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await apiError(client.responses.create({ model: MODEL, input }));
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.status).toBe(429);
      expect(error.headers?.get("retry-after")).toBe("7");
      expect(error.code).toBe("rate_limit_exceeded");
    }
    const done = await client.responses.create({ model: MODEL, input });
    expect(done.output_text).toBe("echo: limited");
    expect(sim.stats().httpErrorsInjected).toBe(2);
  });

  it("removes the script from the echoed text and refuses an invalid script", async () => {
    const done = await client.responses.create({
      model: MODEL,
      input: 'before  #sim {"delay_ms": 0}  after ',
    });
    expect(done.output_text).toBe("echo: before after");
    const error = await apiError(client.responses.create({ model: MODEL, input: "x #sim {nope}" }));
    expect(error.status).toBe(400);
    expect(error.code).toBe("invalid_sim_script");
  });

  it("honours tool_choice none and parallel_tool_calls false", async () => {
    const tool = { type: "function" as const, name: "f", parameters: {}, strict: false };
    const input = 'q #sim {"tool_calls": [{"name": "f"}, {"name": "f"}], "delay_ms": 0}';
    const none = await client.responses.create({ model: MODEL, input, tools: [tool], tool_choice: "none" });
    expect(none.output.map((item) => item.type)).toEqual(["message"]);
    const single = await client.responses.create({
      model: MODEL,
      input,
      tools: [tool],
      parallel_tool_calls: false,
    });
    expect(single.output.map((item) => item.type)).toEqual(["function_call"]);
    const both = await client.responses.create({ model: MODEL, input, tools: [tool] });
    expect(both.output.map((item) => item.type)).toEqual(["function_call", "function_call"]);
  });

  it("ignores scripts in earlier conversation messages", async () => {
    const conversation = await client.conversations.create({
      items: [{ type: "message", role: "user", content: 'old #sim {"reply": "scripted"}' }],
    });
    const done = await client.responses.create({ model: MODEL, input: "new", conversation: conversation.id });
    expect(done.output_text).toBe("echo: new");
  });
});

describe("inspection", () => {
  it("counts requests per endpoint and resets", async () => {
    await client.conversations.create({});
    await client.responses.create({ model: MODEL, input: 'x #sim {"delay_ms": 0}' });
    const stats = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as Record<string, unknown>;
    expect(stats.byEndpoint).toEqual({ "POST /v1/conversations": 1, "POST /v1/responses": 1 });
    expect(stats).toMatchObject({
      responsesCreated: 1,
      conversationsCreated: 1,
      responsesByStatus: { completed: 1 },
    });
    expect((await fetch(`${sim.url}/__stats/reset`, { method: "POST" })).status).toBe(200);
    expect(sim.stats().requests).toBe(0);
    expect(sim.stats().responses).toBe(1);
    await fetch(`${sim.url}/__sim/reset`, { method: "POST" });
    expect(sim.stats().responses).toBe(0);
  });
});
