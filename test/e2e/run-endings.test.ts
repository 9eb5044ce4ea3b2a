/**
 * Issue 13, finding 8: a run that fails or is cancelled leaves its thread as a real Assistants
 * thread would be: the messages it carried (which upstream never kept: a response's input joins the
 * conversation only when it completes) travel with the next run, and cancelling while the model
 * answers submitted tool outputs leaves the conversation usable. On both front doors, with
 * background responses (`poll`: a cancel really cancels them upstream).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { checkedSdkFetch } from "../support/openapi-check";

let e2e: E2E;
let client: OpenAI;
let plainAssistant: string;
let toolAssistant: string;

beforeAll(async () => {
  e2e = await startE2E({ workerVars: { DRIVE_STRATEGY: "poll" } });
  client = new OpenAI({
    baseURL: `${e2e.worker}/v1`,
    apiKey: e2e.stack.ready.apiKey as string,
    maxRetries: 0,
    fetch: checkedSdkFetch,
  });
  plainAssistant = (await e2e.createAssistant()).id;
  toolAssistant = (
    await e2e.createAssistant({
      tools: [{ type: "function", function: { name: "ask_user", parameters: { type: "object" } } }],
    })
  ).id;
});
afterAll(async () => e2e?.close());

const FAIL = '#sim {"fail":{"code":"server_error","message":"boom"}}';
/** Calls ask_user; each response of the run takes ~2 s of model time (time scale 0.01). */
const ASK_SLOWLY = '#sim {"tool_calls":[{"name":"ask_user","arguments":{}}],"delay_ms":200000}';

/** What the simulator was sent as the input of each response a run created, in order. */
async function upstreamInputs(runId: string): Promise<string[]> {
  const all = (await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as { data: any[] };
  return all.data
    .filter((r) => r.metadata?.threadhook_run === runId)
    .sort((a, b) => a.created_at_ms - b.created_at_ms)
    .map((r) => JSON.stringify(r.input));
}

async function waitFor<T>(
  what: string,
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the webhook door", () => {
  const send = (conversation: string, input: string, assistant = plainAssistant) =>
    e2e.api("POST", "/v1/messages", {
      assistant_id: assistant,
      conversation,
      input,
      callback_url: `${e2e.inbox.url}${hookPath("endings")}`,
    });

  it("a failed run's message travels with the next run", async () => {
    const conversation = `endings:fail:${Date.now()}`;
    const failed = await send(conversation, `remember banana ${FAIL}`);
    expect((await e2e.waitForRun(failed.body.id, ["failed", "completed"])).status).toBe("failed");
    const next = await send(conversation, "what was the word?");
    const done = await e2e.waitForRun(next.body.id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    const [input] = await upstreamInputs(next.body.id);
    expect(input).toContain("remember banana");
    expect(input).toContain("what was the word?");
    expect(input?.indexOf("remember banana")).toBeLessThan(input?.indexOf("what was the word?") ?? 0);
    // Sent once: a third run does not carry it again.
    const third = await send(conversation, "thanks");
    expect((await e2e.waitForRun(third.body.id, ["completed", "failed"])).status).toBe("completed");
    expect((await upstreamInputs(third.body.id))[0]).not.toContain("remember banana");
  });

  it("a run queued behind one that fails sends the failed run's message first", async () => {
    const conversation = `endings:queued:${Date.now()}`;
    const slowFail = '#sim {"fail":{"code":"server_error","message":"boom"},"delay_ms":100000}';
    const failed = await send(conversation, `remember plum ${slowFail}`);
    const queued = await send(conversation, "which fruit?");
    expect((await e2e.waitForRun(failed.body.id, ["failed", "completed"])).status).toBe("failed");
    expect((await e2e.waitForRun(queued.body.id, ["completed", "failed"])).status).toBe("completed");
    const [input] = await upstreamInputs(queued.body.id);
    expect(input).toContain("remember plum");
    expect(input?.indexOf("remember plum")).toBeLessThan(input?.indexOf("which fruit?") ?? 0);
  });

  it("cancelling while the model answers submitted tool outputs leaves the conversation usable", async () => {
    const conversation = `endings:cancel:${Date.now()}`;
    const run = await send(conversation, `ask me ${ASK_SLOWLY}`, toolAssistant);
    const waiting = await e2e.waitForRun(run.body.id, ["requires_action", "failed"]);
    expect(waiting.status).toBe("requires_action");
    const callId = waiting.required_action.submit_tool_outputs.tool_calls[0].id;
    const submitted = await e2e.api("POST", `/v1/runs/${run.body.id}/submit_tool_outputs`, {
      tool_outputs: [{ tool_call_id: callId, output: "42" }],
    });
    expect(submitted.status).toBe(200);
    // The model is answering the outputs (a response carrying them is running upstream).
    await waitFor(
      "the outputs' response",
      () => upstreamInputs(run.body.id),
      (inputs) => inputs.length === 2,
    );
    expect((await e2e.api("POST", `/v1/runs/${run.body.id}/cancel`)).status).toBe(200);
    expect((await e2e.waitForRun(run.body.id, ["cancelled", "failed", "completed"])).status).toBe(
      "cancelled",
    );
    const next = await send(conversation, "still there?", toolAssistant);
    const done = await e2e.waitForRun(next.body.id, ["completed", "failed"]);
    expect({ status: done.status, error: done.last_error }).toEqual({ status: "completed", error: null });
    expect(done.output.text).toBe("echo: still there?");
  });
});

describe("the Assistants door (official SDK)", () => {
  const poll = (threadId: string, runId: string, statuses: string[]) =>
    waitFor(
      `run ${runId}`,
      () => client.beta.threads.runs.retrieve(runId, { thread_id: threadId }),
      (r) => statuses.includes(r.status),
    );

  it("a failed run's message travels with the next run", async () => {
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: `remember kiwi ${FAIL}` }],
    });
    const failed = await client.beta.threads.runs.create(thread.id, { assistant_id: plainAssistant });
    expect((await poll(thread.id, failed.id, ["failed", "completed"])).status).toBe("failed");
    await client.beta.threads.messages.create(thread.id, { role: "user", content: "which fruit?" });
    const next = await client.beta.threads.runs.create(thread.id, { assistant_id: plainAssistant });
    expect((await poll(thread.id, next.id, ["failed", "completed"])).status).toBe("completed");
    const [input] = await upstreamInputs(next.id);
    expect(input).toContain("remember kiwi");
    expect(input).toContain("which fruit?");
    // The thread still lists every message once.
    const listed = (await client.beta.threads.messages.list(thread.id, { order: "asc" })).data;
    expect(listed.filter((m) => m.role === "user")).toHaveLength(2);
  });

  it("cancelling while the model answers submitted tool outputs leaves the thread usable", async () => {
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: `ask me ${ASK_SLOWLY}` }],
    });
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: toolAssistant });
    const waiting = await poll(thread.id, run.id, ["requires_action", "failed"]);
    expect(waiting.status).toBe("requires_action");
    const callId = waiting.required_action?.submit_tool_outputs.tool_calls[0]?.id as string;
    await client.beta.threads.runs.submitToolOutputs(run.id, {
      thread_id: thread.id,
      tool_outputs: [{ tool_call_id: callId, output: "42" }],
    });
    await waitFor(
      "the outputs' response",
      () => upstreamInputs(run.id),
      (inputs) => inputs.length === 2,
    );
    await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    expect((await poll(thread.id, run.id, ["cancelled", "failed", "completed"])).status).toBe("cancelled");
    await client.beta.threads.messages.create(thread.id, { role: "user", content: "still there?" });
    const next = await client.beta.threads.runs.create(thread.id, { assistant_id: toolAssistant });
    const done = await poll(thread.id, next.id, ["completed", "failed"]);
    expect({ status: done.status, error: done.last_error }).toEqual({ status: "completed", error: null });
  });
});

describe("threads longer than the model's context window (finding 9)", () => {
  it("keep working: every response asks for truncation auto, so the oldest items give way", async () => {
    const set = await fetch(`${e2e.stack.openai.url}/__sim/context_windows`, {
      method: "POST",
      body: JSON.stringify({ models: { "gpt-sim-small": 300 } }),
    });
    expect(set.status).toBe(200);
    const small = (await e2e.createAssistant({ model: "gpt-sim-small" })).id;
    const conversation = `endings:long:${Date.now()}`;
    for (let i = 0; i < 4; i++) {
      // ~100 tokens each, and the echoed answer as much again: the third run is past 300 tokens.
      const text = `turn ${i} ${"lorem ipsum ".repeat(33)}`;
      const sent = await e2e.api("POST", "/v1/messages", {
        assistant_id: small,
        conversation,
        input: text,
        callback_url: `${e2e.inbox.url}${hookPath("long")}`,
      });
      const done = await e2e.waitForRun(sent.body.id, ["completed", "failed"]);
      expect({ i, status: done.status, error: done.last_error }).toEqual({
        i,
        status: "completed",
        error: null,
      });
      expect(done.usage.prompt_tokens).toBeLessThanOrEqual(300);
    }
  });

  it("a run past max_prompt_tokens ends incomplete with reason max_prompt_tokens (Assistants door)", async () => {
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: `a long question ${"x".repeat(1200)}` }],
    });
    const run = await client.beta.threads.runs.create(thread.id, {
      assistant_id: plainAssistant,
      max_prompt_tokens: 256,
    });
    const ended = await waitFor(
      `run ${run.id}`,
      () => client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }),
      (r) => ["completed", "incomplete", "failed"].includes(r.status),
    );
    expect(ended.status).toBe("incomplete");
    expect(ended.incomplete_details?.reason).toBe("max_prompt_tokens");
    expect(ended.max_prompt_tokens).toBe(256);
  });
});
