/**
 * Issue 13, finding 1 (the gap `conversation_locked` leaves): a create whose answer is lost (the
 * OpenAI stand-in accepts it, then drops the connection) and whose response ends before the next
 * attempt. The probe only sees a response still running, so the next attempt used to create the
 * round again: two responses, the answer twice in the conversation. Now the attempt first reads the
 * conversation's newest items, finds the round's input followed by an answer, and adopts it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    openaiDelayMs: 50,
    workerVars: { DRIVE_STRATEGY: "poll" },
    faults: { openai: [{ kind: "drop_after_create", next: 1 }] },
  });
});
afterAll(async () => e2e?.close());

const simResponses = async () =>
  ((await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as { data: any[] }).data;

describe("a create whose answer was lost", () => {
  it("is adopted from the conversation once its response has ended: one response, one answer", async () => {
    const assistant = await e2e.createAssistant();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${hookPath("lost-create")}`,
      input: "hello there",
    });
    expect(res.status).toBe(202);
    const run = await e2e.waitForRun(res.body.id, ["completed", "failed"], 30_000);
    expect(run.status).toBe("completed");
    expect(run.output.text).toBe("echo: hello there");
    const faults = await (await fetch(`${e2e.stack.openai.url}/__faults`)).json();
    expect(faults.injected).toMatchObject({ drop_after_create: 1 });
    const mine = (await simResponses()).filter((r) => r.metadata?.threadhook_run === res.body.id);
    expect(mine.map((r) => r.metadata.threadhook_round)).toEqual(["0"]);
    // The conversation holds the question and its answer once.
    const thread = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body.thread_id;
    const messages = (await e2e.api("GET", `/v1/threads/${thread}/messages?order=asc`)).body.data;
    expect(messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
    // Its tokens count, estimated from the items by the stand-in's own rule (⌈characters / 4⌉), so
    // here exactly what the stand-in billed; the usage says one response was estimated.
    const billed = mine[0].usage;
    expect(billed.input_tokens).toBeGreaterThan(0);
    const until = Date.now() + 10_000;
    let usage = (await e2e.api("GET", "/v1/usage")).body;
    while (usage.output_tokens < billed.output_tokens && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      usage = (await e2e.api("GET", "/v1/usage")).body;
    }
    expect(usage).toMatchObject({
      input_tokens: billed.input_tokens,
      output_tokens: billed.output_tokens,
      estimated_responses: 1,
    });
    expect((await e2e.api("GET", `/v1/runs/${res.body.id}`)).body.usage).toEqual({
      prompt_tokens: billed.input_tokens,
      completion_tokens: billed.output_tokens,
      total_tokens: billed.input_tokens + billed.output_tokens,
    });
  });
});
