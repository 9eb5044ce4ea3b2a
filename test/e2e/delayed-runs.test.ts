/**
 * Issue 18 part 4: delayed runs (`run_at` / `delay_s`). The run is `queued` with `scheduled_for`
 * until QStash delivers its start at the time (the stand-in's time scale is 0.01: 600 s = 6 s),
 * cancellable until then; a start delivered twice starts one run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  // Every QStash delivery twice: a delayed run's start too.
  e2e = await startE2E({ qstashDuplicateFraction: 1 });
});
afterAll(async () => e2e?.close());

const SCALE = 0.01;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("delayed runs", () => {
  it("starts a run at its time (time-scaled), once, and shows it queued with scheduled_for until then", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("delayed");
    const conversation = `delayed:${Date.now()}`;
    const sentAt = Date.now();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      conversation,
      input: "remind me",
      callback_url: `${e2e.inbox.url}${path}`,
      delay_s: 600,
    });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("queued");
    const due = Date.parse(res.body.scheduled_for);
    expect(due).toBeGreaterThanOrEqual(sentAt + 600_000 - 1000);
    expect(due).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);
    const waiting = await e2e.api("GET", `/v1/runs/${res.body.id}`);
    expect(waiting.status).toBe(200);
    expect(waiting.body).toMatchObject({
      id: res.body.id,
      status: "queued",
      scheduled_for: res.body.scheduled_for,
    });
    expect(waiting.body.thread_id).toBe(res.body.thread_id);

    const done = await e2e.waitForRun(res.body.id, ["completed"], 30_000);
    // Not before its (scaled) time: 600 s × 0.01 after it was sent.
    const started = Date.parse(done.timeline.find((t: any) => t.status === "in_progress").at);
    expect(started - sentAt).toBeGreaterThanOrEqual(600_000 * SCALE - 200);
    expect(done.scheduled_for).toBe(res.body.scheduled_for);
    expect(done.thread_id).toBe(res.body.thread_id);
    expect((await e2e.api("GET", `/v1/conversations/${encodeURIComponent(conversation)}`)).body.id).toBe(
      res.body.thread_id,
    );
    // Delivered twice by QStash, started once: one callback, one run on the thread.
    await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    await sleep(500);
    expect(new Set(e2e.inbox.deliveries({ path }).map((d: any) => d.webhook_id)).size).toBe(1);
    const runs = await e2e.api("GET", `/v1/threads/${res.body.thread_id}/runs`);
    expect(runs.body.data.map((r: any) => r.id)).toEqual([res.body.id]);
    expect(e2e.stack.qstash.stats().duplicatesInjected).toBeGreaterThan(0);
  });

  it("cancels a delayed run before its time: it never starts", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("delayed-cancel");
    const runAt = new Date(Date.now() + 600_000).toISOString();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      input: "never mind",
      callback_url: `${e2e.inbox.url}${path}`,
      run_at: runAt,
    });
    expect(res.status).toBe(202);
    expect(Date.parse(res.body.scheduled_for)).toBe(Date.parse(runAt));
    const cancelled = await e2e.api("POST", `/v1/runs/${res.body.id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("cancelled");
    // Wait until QStash has delivered the start (and its duplicate): nothing pending.
    const until = Date.now() + 20_000;
    while (e2e.stack.qstash.stats().pending > 0 && Date.now() < until) await sleep(100);
    expect(e2e.stack.qstash.stats().pending).toBe(0);
    const after = await e2e.api("GET", `/v1/runs/${res.body.id}`);
    expect(after.body.status).toBe("cancelled");
    expect(e2e.inbox.deliveries({ path })).toEqual([]);
    const again = await e2e.api("POST", `/v1/runs/${res.body.id}/cancel`, {});
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe("run_not_active");
  });

  it("refuses run_at in the past, beyond the horizon, or with delay_s", async () => {
    const assistant = await e2e.createAssistant();
    const send = (extra: Record<string, unknown>) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        input: "x",
        callback_url: `${e2e.inbox.url}${hookPath("delayed-bad")}`,
        ...extra,
      });
    const past = await send({ run_at: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error).toMatchObject({ code: "invalid_run_at", param: "run_at" });
    expect(past.body.error.message).toMatch(/past/);
    const far = await send({ delay_s: 8 * 86_400 });
    expect(far.status).toBe(400);
    expect(far.body.error).toMatchObject({ code: "invalid_run_at", param: "delay_s" });
    expect(far.body.error.message).toMatch(/604800/);
    const both = await send({ delay_s: 10, run_at: new Date(Date.now() + 60_000).toISOString() });
    expect(both.status).toBe(400);
    const notATime = await send({ run_at: "tomorrow at 9" });
    expect(notATime.status).toBe(400);
    expect(notATime.body.error.param).toBe("run_at");
  });
});
