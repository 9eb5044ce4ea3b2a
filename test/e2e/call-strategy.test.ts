/**
 * The `call` drive strategy (the default without OpenAI webhooks): QStash makes the model call itself
 * — a foreground create with the key forwarded — and calls the Worker back with the answer. Through
 * the whole stack: what it costs (upstream requests, QStash messages), tool rounds, OpenAI refusing
 * a call, a call cut at the run's deadline (never created twice), cancel during a call, and forged or
 * stale callbacks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let assistantId: string;
beforeAll(async () => {
  // No DRIVE_STRATEGY, no OPENAI_WEBHOOK_SECRET: `auto` resolves to `call`.
  e2e = await startE2E({ timeScale: 0.1, openaiDelayMs: 1000 });
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => e2e?.close());

const script = (text: string, s: unknown) => `${text} #sim ${JSON.stringify(s)}`;
const send = (path: string, input: string, extra: Record<string, unknown> = {}) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    input,
    callback_url: `${e2e.inbox.url}${path}`,
    ...extra,
  });
const sim = () => e2e.stack.openai.stats();
const qstash = () => e2e.stack.qstash.stats();
const delta = (after: Record<string, number>, before: Record<string, number>, key: string) =>
  (after[key] ?? 0) - (before[key] ?? 0);
const waitUntil = async (probe: () => Promise<boolean>, timeoutMs = 10_000) => {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
};
/** Nothing in flight: QStash has delivered everything (callbacks included). */
const drained = () => waitUntil(async () => qstash().pending === 0);

describe("call strategy", () => {
  it("is what auto picks without OpenAI webhooks", async () => {
    // The details of /health are the operator's.
    const res = await fetch(`${e2e.worker}/health`, {
      headers: { authorization: `Bearer ${e2e.stack.ready.operatorKey}` },
    });
    const health = (await res.json()) as { drive_strategy: string };
    expect(health.drive_strategy).toBe("call");
  });

  it("a run: one create made by QStash, no GET, 3 QStash messages, the callback right after", async () => {
    await drained();
    const [s0, q0] = [sim(), qstash()];
    const path = hookPath("call-one");
    const res = await send(path, "hello there");
    expect(res.status).toBe(202);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 10_000 });
    expect((d?.body as any).data.run).toMatchObject({
      status: "completed",
      output: { text: "echo: hello there" },
    });
    await drained();
    const [s1, q1] = [sim(), qstash()];
    expect(delta(s1.byEndpoint, s0.byEndpoint, "POST /v1/responses")).toBe(1);
    expect(delta(s1.byEndpoint, s0.byEndpoint, "POST /v1/conversations")).toBe(1);
    expect(delta(s1.byEndpoint, s0.byEndpoint, "GET /v1/responses/{id}")).toBe(0);
    expect(s1.requests - s0.requests).toBe(2);
    // The start step and the call, plus QStash's callback with the answer.
    expect(q1.published - q0.published).toBe(2);
    expect(q1.callbacks - q0.callbacks).toBe(1);
    const run = await e2e.api("GET", `/v1/runs/${res.body.id}`);
    expect(run.body.timeline.map((t: any) => t.cause)).toEqual([
      "accepted",
      "model called",
      "model finished",
    ]);
  });

  it("a tool round with an endpoint tool: a call per round", async () => {
    const toolPath = hookPath("call-tool");
    e2e.inbox.setBehaviour({ path: toolPath, body: { output: "sunny" } });
    const tool = {
      type: "function",
      function: { name: "weather", parameters: { type: "object", properties: {} } },
      endpoint: { url: `${e2e.inbox.url}${toolPath}`, timeout_ms: 2000 },
    };
    const a = (await e2e.createAssistant({ tools: [tool] })).id;
    const path = hookPath("call-tools");
    const first = await e2e.api("POST", "/v1/messages", {
      assistant_id: a,
      conversation: `call-tools-${Date.now()}`,
      input: script("go", { tool_calls: [{ name: "weather", arguments: {} }] }),
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(first.status).toBe(202);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((d?.body as any).data.run).toMatchObject({
      status: "completed",
      output: { text: 'tool results: ["sunny"]' },
    });
  });

  it("OpenAI refusing the create (429) is retried with backoff; one response in the end", async () => {
    const before = sim();
    const path = hookPath("call-429");
    const res = await send(path, script("busy", { http_error: { status: 429, times: 1, retry_after_s: 1 } }));
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((d?.body as any).data.run.status).toBe("completed");
    const after = sim();
    expect(after.responsesCreated - before.responsesCreated).toBe(1);
    expect(delta(after.byEndpoint, before.byEndpoint, "POST /v1/responses")).toBe(2);
    const run = await e2e.api("GET", `/v1/runs/${res.body.id}`);
    expect(run.body.status).toBe("completed");
  });

  it("a call still running at the run's deadline ends it expired, and the round is never created again", async () => {
    const before = sim();
    const path = hookPath("call-expired");
    // The model needs 30 s (3 s scaled); the run has 1 s; QStash gives up 2 s after the deadline.
    const res = await send(path, script("slow", { delay_ms: 30_000 }), { timeout_s: 1 });
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((d?.body as any).type).toBe("run.expired");
    const after = sim();
    expect(delta(after.byEndpoint, before.byEndpoint, "POST /v1/responses")).toBe(1);
    const run = await e2e.api("GET", `/v1/runs/${res.body.id}`);
    expect(run.body.status).toBe("expired");
  });

  it("cancel during a call: cancelled at once, the thread taken over once the call answers", async () => {
    const key = `call-cancel-${Date.now()}`;
    const path = hookPath("call-cancel");
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistantId,
      conversation: key,
      input: script("long", { delay_ms: 50_000 }),
      callback_url: `${e2e.inbox.url}${path}`,
    });
    // The call is out as soon as the run is in progress.
    await waitUntil(
      async () => (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body.status === "in_progress",
    );
    const cancelledAt = Date.now();
    const cancelled = await e2e.api("POST", `/v1/runs/${res.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    // The caller hears at once; the model's answer (5 s away) cannot be stopped.
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((d?.body as any).type).toBe("run.cancelled");
    expect(Date.now() - cancelledAt).toBeLessThan(3_000);
    // The next run on the thread waits for the call to answer, then runs on a usable conversation.
    const nextPath = hookPath("call-after-cancel");
    await e2e.api("POST", "/v1/messages", {
      assistant_id: assistantId,
      conversation: key,
      input: "and now?",
      callback_url: `${e2e.inbox.url}${nextPath}`,
    });
    const [n] = await e2e.inbox.waitFor(1, { path: nextPath, timeoutMs: 15_000 });
    expect((n?.body as any).data.run).toMatchObject({
      status: "completed",
      output: { text: "echo: and now?" },
    });
  });

  it("refuses a forged callback (401) and ignores one for an attempt the run does not wait for", async () => {
    const forged = await fetch(`${e2e.worker}/internal/steps/called?tenant=default&run=run_x&key=0.0.0`, {
      method: "POST",
      headers: { "content-type": "application/json", "upstash-signature": "not.a.jwt" },
      body: JSON.stringify({ status: 200, body: "" }),
    });
    expect(forged.status).toBe(401);
  });
});
