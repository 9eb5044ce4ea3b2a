/**
 * A delayed run's start and a schedule's firing refused for good (here: the assistant was deleted
 * meanwhile): the caller hears of it through its callback, `run.failed` saying why, once (every
 * QStash delivery is sent twice), and the run reads `failed`. Time-scaled (0.01).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ qstashDuplicateFraction: 1 });
});
afterAll(async () => e2e?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("refused for good after the caller was told", () => {
  it("a delayed run whose assistant is deleted before its time ends failed, and its callback says why", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("deferred-refused");
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      input: "remind me",
      callback_url: `${e2e.inbox.url}${path}`,
      delay_s: 300,
    });
    expect(res.status).toBe(202);
    expect((await e2e.api("DELETE", `/v1/assistants/${assistant.id}`)).status).toBe(200);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 30_000 });
    const body = d?.body as any;
    expect(body.type).toBe("run.failed");
    expect(body.data.run.id).toBe(res.body.id);
    expect(body.data.run.last_error.code).toBe("assistant_not_found");
    expect(body.data.run.last_error.message).toContain(assistant.id);
    const read = await e2e.api("GET", `/v1/runs/${res.body.id}`);
    expect(read.body.status).toBe("failed");
    expect(read.body.last_error.code).toBe("assistant_not_found");
    // The start was delivered twice: one callback.
    await until("the queue to drain", () => e2e.stack.qstash.stats().pending === 0);
    await sleep(500);
    expect(new Set(e2e.inbox.deliveries({ path }).map((x: any) => x.webhook_id)).size).toBe(1);
  }, 60_000);

  it("each firing of a schedule whose assistant is gone becomes one failed run, whose callback says why", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("schedule-refused");
    const created = await e2e.api("POST", "/v1/schedules", {
      cron: "* * * * *",
      timezone: "UTC",
      assistant_id: assistant.id,
      input: "digest",
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await e2e.api("DELETE", `/v1/assistants/${assistant.id}`)).status).toBe(200);
    const stats = () => e2e.stack.qstash.stats();
    const firedBefore = stats().schedules.fired;
    await until("two firings", () => stats().schedules.fired - firedBefore >= 2);
    // Delete it: QStash stops firing.
    expect((await e2e.api("DELETE", `/v1/schedules/${id}`)).status).toBe(200);
    await until("the queue to drain", () => stats().pending === 0);
    await sleep(1000);
    const failed = e2e.inbox.deliveries({ path }).filter((x: any) => x.body.type === "run.failed");
    expect(failed.length).toBeGreaterThanOrEqual(2);
    const runs = new Map<string, any>();
    for (const x of failed) runs.set((x.body as any).data.run.id, x);
    // One callback per firing, though QStash delivered each firing (and each step) twice.
    expect(runs.size).toBe(failed.length);
    for (const x of runs.values()) {
      const run = (x.body as any).data.run;
      expect(run.last_error.code).toBe("assistant_not_found");
      expect(run.metadata).toEqual({ schedule_id: id });
      expect((await e2e.api("GET", `/v1/runs/${run.id}`)).body.status).toBe("failed");
    }
  }, 90_000);
});
