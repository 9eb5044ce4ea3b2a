/** Issue 4 acceptance: the run pipeline end to end through the local stack. */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let assistantId: string;

beforeAll(async () => {
  e2e = await startE2E();
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => e2e?.close());

const send = (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  e2e.api(
    "POST",
    "/v1/messages",
    { assistant_id: assistantId, callback_url: `${e2e.inbox.url}${path}`, ...body },
    headers,
  );

describe("run pipeline", () => {
  it("accepts in well under a second and delivers a signed run.completed with the echo", async () => {
    const path = hookPath("happy");
    // The inbox answers slowly: it has the event while the step still waits for its reply.
    e2e.inbox.setBehaviour({ path, delayMs: 500 });
    const started = performance.now();
    const res = await send(path, {
      input: "hello there",
      conversation: `test:happy:${Date.now()}`,
      metadata: { ticket: "42" },
    });
    const intakeMs = performance.now() - started;
    expect(res.status).toBe(202);
    expect(intakeMs).toBeLessThan(1000);
    expect(res.body).toMatchObject({ object: "thread.run", status: "queued", assistant_id: assistantId });
    expect(res.body.id).toMatch(/^run_/);
    expect(res.body.thread_id).toMatch(/^thread_/);
    expect(res.body.links.self).toBe(`/v1/runs/${res.body.id}`);

    const [delivery] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect(delivery?.verified).toBe(true);
    const event = delivery?.body as any;
    expect(event.type).toBe("run.completed");
    expect(event.id).toMatch(/^evt_/);
    expect(event.data.run.output.text).toBe("echo: hello there");
    expect(event.data.run.metadata).toEqual({ ticket: "42" });
    // Verify independently with the reference library and the documented dev secret.
    expect(() =>
      new Webhook(e2e.stack.ready.webhookSecret as string).verify(
        delivery?.raw as string,
        delivery?.headers as any,
      ),
    ).not.toThrow();

    // Read right after the callback, without polling: what the event announced is already stored.
    const run = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body;
    expect(run.status).toBe("completed");
    expect(run.timeline.map((t: { status: string }) => t.status)).toEqual([
      "queued",
      "in_progress",
      "completed",
    ]);
    expect(run.usage.total_tokens).toBeGreaterThan(0);
    expect(run.delivery.state).toBe("pending"); // the inbox has not answered yet
    const settled = async () => (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body.delivery;
    await expect.poll(settled, { timeout: 5_000 }).toMatchObject({ state: "delivered" });
  });

  it("serialises three messages on one conversation, in order, on one thread", async () => {
    const path = hookPath("order");
    const conversation = `test:order:${Date.now()}`;
    const before = (await fetch(`${e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "")}/__sim/stats`).then(
      (r) => r.json(),
    )) as any;
    // Accepted one after another (each 202 takes milliseconds) while the first run is still working
    // (30 s × time scale 0.01 = 300 ms), so the second and third wait on the thread.
    const sent = [];
    for (const t of ["first", "second", "third"])
      sent.push(await send(path, { input: `${t} #sim {"delay_ms": 30000}`, conversation }));
    expect(sent.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(new Set(sent.map((r) => r.body.thread_id)).size).toBe(1);
    expect((await e2e.api("GET", `/v1/runs/${sent[2]?.body.id}`)).body.status).toBe("queued");
    const deliveries = await e2e.inbox.waitFor(3, { path, timeoutMs: 20_000 });
    const runs = await Promise.all(sent.map((r) => e2e.waitForRun(r.body.id, ["completed"])));
    // Each run started only after the previous one ended.
    const startedMs = (run: any) => Date.parse(run.timeline.find((t: any) => t.status === "in_progress").at);
    const sorted = [...runs].sort((a, b) => startedMs(a) - startedMs(b));
    const endedMs = (run: any) => Date.parse(run.timeline.at(-1).at);
    for (let i = 1; i < sorted.length; i++)
      expect(startedMs(sorted[i])).toBeGreaterThanOrEqual(endedMs(sorted[i - 1]));
    // Answers are in sending order.
    const byRun = new Map(deliveries.map((d: any) => [d.body.data.run.id, d.body.data.run.output.text]));
    const order = [...runs].sort((a, b) => startedMs(a) - startedMs(b)).map((r) => byRun.get(r.id));
    expect(order).toEqual(["echo: first", "echo: second", "echo: third"]);
    const after = (await fetch(`${e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "")}/__sim/stats`).then(
      (r) => r.json(),
    )) as any;
    expect(after.conversationLocked - before.conversationLocked).toBe(0);
    expect(after.conversationsCreated - before.conversationsCreated).toBe(1);
  });

  it("accepts a message with three Redis requests: two lookups side by side, then the run with its thread", async () => {
    const path = hookPath("trips");
    const conversation = `test:trips:${Date.now()}`;
    const first = await send(path, { input: 'long #sim {"delay_ms": 3000000}', conversation });
    await e2e.waitForRun(first.body.id, ["in_progress"]);
    const redis = async () => (await (await fetch(`${e2e.stack.ready.redis.url}/__stats`)).json()) as any;
    const before = await redis();
    // The thread is busy, so this run waits in its queue: no step runs and nothing else touches Redis.
    const second = await send(path, { input: "queued behind", conversation });
    const after = await redis();
    expect(second.status).toBe(202);
    expect(second.body.thread_id).toBe(first.body.thread_id);
    expect(after.requests - before.requests).toBe(3);
    expect(after.byPath["/multi-exec"] - before.byPath["/multi-exec"]).toBe(1); // conversation key → thread
    await e2e.api("POST", `/v1/runs/${second.body.id}/cancel`);
    await e2e.api("POST", `/v1/runs/${first.body.id}/cancel`);
    await e2e.inbox.waitFor(2, { path, timeoutMs: 15_000 });
    const thread = await e2e.api("GET", `/v1/conversations/${encodeURIComponent(conversation)}`);
    expect(thread.status).toBe(200);
  });

  it("maps #sim fail and incomplete to run.failed and run.incomplete", async () => {
    const path = hookPath("fail");
    const failed = await send(path, {
      input: 'x #sim {"fail": {"code": "server_error", "message": "model broke"}}',
    });
    const incomplete = await send(path, { input: 'y #sim {"incomplete": "max_output_tokens"}' });
    const deliveries = await e2e.inbox.waitFor(2, { path, timeoutMs: 15_000 });
    const byRun = new Map(deliveries.map((d: any) => [d.body.data.run.id, d.body]));
    expect(byRun.get(failed.body.id)).toMatchObject({
      type: "run.failed",
      data: { run: { last_error: { code: "server_error", message: "model broke" } } },
    });
    expect(byRun.get(incomplete.body.id)).toMatchObject({
      type: "run.incomplete",
      data: { run: { incomplete_details: { reason: "max_output_tokens" } } },
    });
  });

  it("rides out upstream 429s and still completes", async () => {
    const path = hookPath("429");
    const res = await send(path, {
      input: 'busy #sim {"http_error": {"status": 429, "retry_after_s": 1, "times": 2}}',
    });
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((d?.body as any).type).toBe("run.completed");
    expect((d?.body as any).data.run.id).toBe(res.body.id);
  });

  it("expires a run past timeout_s and cancels its upstream response where it can", async () => {
    const path = hookPath("expire");
    const res = await send(path, { input: 'slow #sim {"delay_ms": 3000000}', timeout_s: 2 });
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((d?.body as any).type).toBe("run.expired");
    const sim = (await fetch(`${e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "")}/__sim/responses`).then(
      (r) => r.json(),
    )) as any;
    const list = Array.isArray(sim) ? sim : (sim.data ?? []);
    const upstream = list.filter((r: any) => r.metadata?.threadhook_run === res.body.id);
    expect(upstream).toHaveLength(1);
    // A background response is cancelled; the `call` strategy's (the default's) foreground response
    // cannot be, and ends by itself (docs/performance.md).
    expect(upstream[0]?.status).toBe(upstream[0]?.background ? "cancelled" : "in_progress");
  });

  it("cancels a running run", async () => {
    const path = hookPath("cancel");
    const res = await send(path, { input: 'long #sim {"delay_ms": 3000000}' });
    await e2e.waitForRun(res.body.id, ["in_progress"]);
    const c = await e2e.api("POST", `/v1/runs/${res.body.id}/cancel`);
    expect(c.status).toBe(200);
    expect(["cancelling", "cancelled"]).toContain(c.body.status);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((d?.body as any).type).toBe("run.cancelled");
  });

  it("retries a failing callback with the same webhook-id, then marks delivery failed; redeliver succeeds", async () => {
    const path = hookPath("retry");
    e2e.inbox.failNext(2, 500);
    const res = await send(path, { input: "retry me" });
    const attempts = await e2e.inbox.waitFor(3, { path, timeoutMs: 20_000 });
    expect(attempts.map((a: any) => a.answered_status)).toEqual([500, 500, 200]);
    expect(new Set(attempts.map((a: any) => a.webhook_id)).size).toBe(1);
    await e2e.waitForRun(res.body.id, ["completed"]);

    const path2 = hookPath("dead");
    e2e.inbox.failNext(3, 503);
    const res2 = await send(path2, { input: "never lands" });
    await e2e.inbox.waitFor(3, { path: path2, timeoutMs: 20_000 });
    const until = Date.now() + 10_000;
    let run: any;
    do {
      run = (await e2e.api("GET", `/v1/runs/${res2.body.id}`)).body;
      if (run.delivery.state === "failed") break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < until);
    expect(run.delivery.state).toBe("failed");
    expect(run.delivery.attempts).toHaveLength(3);
    const redo = await e2e.api("POST", `/v1/runs/${res2.body.id}/redeliver`);
    expect(redo.status).toBe(202);
    const all = await e2e.inbox.waitFor(4, { path: path2, timeoutMs: 10_000 });
    expect(all.at(-1)?.answered_status).toBe(200);
    expect(new Set(all.map((a: any) => a.webhook_id)).size).toBe(1);
  });

  it("idempotency: same key and body give the same run without a second upstream call; another body gives 409", async () => {
    const path = hookPath("idem");
    const key = `idem-${Date.now()}`;
    const body = { input: "only once", conversation: `test:idem:${Date.now()}` };
    const a = await send(path, body, { "idempotency-key": key });
    const b = await send(path, body, { "idempotency-key": key });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.id).toBe(a.body.id);
    const c = await send(path, { ...body, input: "something else" }, { "idempotency-key": key });
    expect(c.status).toBe(409);
    expect(c.body.error.code).toBe("idempotency_key_reused");
    await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300));
    const sim = (await fetch(`${e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "")}/__sim/responses`).then(
      (r) => r.json(),
    )) as any;
    const list = Array.isArray(sim) ? sim : (sim.data ?? []);
    expect(list.filter((r: any) => r.metadata?.threadhook_run === a.body.id)).toHaveLength(1);
    expect(e2e.inbox.deliveries({ path })).toHaveLength(1);
  });
});
