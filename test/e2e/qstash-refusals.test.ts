/**
 * QStash refusing messages (its daily quota, its rate limit), through the whole stack: at intake the
 * caller gets 503 with Retry-After and nothing is kept (send it again then); in flight the step
 * keeps its work, the run's timeline says why it waits, and QStash's redelivery after Retry-After
 * finishes the run once QStash accepts messages again. Real time (time scale 1).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let assistantId: string;
beforeAll(async () => {
  e2e = await startE2E({ timeScale: 1, openaiDelayMs: 600, workerVars: { DRIVE_STRATEGY: "poll" } });
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => e2e?.close());

const send = (path: string, input: string) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    input,
    callback_url: `${e2e.inbox.url}${path}`,
  });

describe("QStash refusals", () => {
  it("at intake: 503 queue_quota_exceeded with Retry-After; nothing is kept, the same request works later", async () => {
    const path = hookPath("refused");
    const body = { assistant_id: assistantId, input: "over quota", callback_url: `${e2e.inbox.url}${path}` };
    const headers = { "Idempotency-Key": `idem-${Date.now()}` };
    e2e.stack.qstash.setQuota({ dailyMessages: 0 }, true);
    let res: Awaited<ReturnType<typeof e2e.api>>;
    try {
      res = await e2e.api("POST", "/v1/messages", body, headers);
    } finally {
      e2e.stack.qstash.setQuota({}, true);
    }
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("queue_quota_exceeded");
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    // The refused run was withdrawn: the same key and body now make a new run, not a replay.
    const again = await e2e.api("POST", "/v1/messages", body, headers);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    const [delivery] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((delivery?.body as any).data.run.id).toBe(again.body.id);
  });

  it("in flight: the refused step waits with a timeline note and finishes once QStash accepts", async () => {
    const path = hookPath("inflight");
    // Intake and the start step publish; then QStash refuses every publish for a while.
    const res = await send(path, "refused in flight");
    expect(res.status).toBe(202);
    const runId = res.body.id as string;
    e2e.stack.qstash.setQuota({ burstPerSecond: 0 });
    let noted = false;
    try {
      const until = Date.now() + 10_000;
      while (!noted && Date.now() < until) {
        const run = await e2e.api("GET", `/v1/runs/${runId}`);
        noted = JSON.stringify(run.body.timeline ?? []).includes("rate limit was hit");
        if (!noted) await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      e2e.stack.qstash.setQuota({});
    }
    expect(noted).toBe(true);
    const [delivery] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((delivery?.body as any).data.run.status).toBe("completed");
    expect(e2e.stack.qstash.stats().quota.burstRefused).toBeGreaterThan(0);
  });
});
