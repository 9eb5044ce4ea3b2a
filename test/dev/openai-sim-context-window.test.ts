// dev/openai-sim's context window with the official `openai` SDK: an over-long conversation is refused
// with OpenAI's 400 `context_length_exceeded` unless `truncation: "auto"`, which drops items from the
// beginning of the conversation; the response echoes the request's `truncation`.
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";
import { apiError, settle } from "./openai-sim-helpers.ts";

const SMALL = "gpt-sim-small";
/** Tokens are ⌈characters / 4⌉: 400 characters are 100 tokens. */
const words = (n: number) => "word ".repeat((n * 4) / 5).padEnd(n * 4, ".");

let sim: OpenAISimHandle;
let client: OpenAI;

beforeAll(async () => {
  sim = await startOpenAISim({ timeScale: 0.01, contextWindows: { [SMALL]: 250 } });
  client = new OpenAI({ baseURL: sim.baseURL, apiKey: sim.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => sim.reset());

/** A conversation holding `n` user messages of 100 tokens each. */
const longConversation = (n: number) =>
  client.conversations.create({
    items: Array.from({ length: n }, (_, i) => ({
      type: "message" as const,
      role: "user" as const,
      content: `m${i} ${words(100)}`.slice(0, 400),
    })),
  });

describe("context window", () => {
  it("echoes truncation (disabled by default) and answers within the window", async () => {
    const plain = await client.responses.create({ model: SMALL, input: "hi" });
    expect(plain.truncation).toBe("disabled");
    const auto = await client.responses.create({ model: SMALL, input: "hi", truncation: "auto" });
    expect(auto.truncation).toBe("auto");
    expect((await settle(client, auto.id)).truncation).toBe("auto");
  });

  it("refuses a conversation longer than the window with OpenAI's error when truncation is off", async () => {
    const conversation = await longConversation(3);
    const err = await apiError(
      client.responses.create({ model: SMALL, conversation: conversation.id, input: "and now?" }),
    );
    expect(err.status).toBe(400);
    expect(err.code).toBe("context_length_exceeded");
    expect(err.param).toBe("input");
    expect(err.type).toBe("invalid_request_error");
    expect(err.message).toContain("Your input exceeds the context window of this model");
    // Another model (the default window) takes the same conversation.
    const big = await client.responses.create({
      model: "gpt-4.1",
      conversation: conversation.id,
      input: "ok?",
    });
    expect((await settle(client, big.id)).status).toBe("completed");
  });

  it("with truncation auto drops the oldest items until the rest fits, and counts only what the model saw", async () => {
    const conversation = await longConversation(3);
    const r = await client.responses.create({
      model: SMALL,
      conversation: conversation.id,
      input: "and now?",
      truncation: "auto",
    });
    const done = await settle(client, r.id);
    expect(done.status).toBe("completed");
    expect(done.truncation).toBe("auto");
    // Two of the three 100-token messages fit beside the input (250 tokens in all).
    expect(done.usage?.input_tokens).toBeLessThanOrEqual(250);
    expect(done.usage?.input_tokens).toBeGreaterThan(200);
    // The conversation itself keeps everything (truncation only shapes what one response sees).
    const items = await client.conversations.items.list(conversation.id, { limit: 100 });
    expect(items.data.length).toBe(5);
  });

  it("is scriptable per model while running, and an input that alone exceeds the window is refused even with auto", async () => {
    const set = await fetch(`${sim.url}/__sim/context_windows`, {
      method: "POST",
      body: JSON.stringify({ models: { "gpt-tiny": 10 } }),
    });
    expect(((await set.json()) as { models: Record<string, number> }).models).toMatchObject({
      "gpt-tiny": 10,
      [SMALL]: 250,
    });
    const err = await apiError(
      client.responses.create({ model: "gpt-tiny", input: words(20), truncation: "auto" }),
    );
    expect(err.code).toBe("context_length_exceeded");
  });
});
