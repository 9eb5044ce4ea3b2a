/**
 * Issue 18 part 4: schedules. A schedule is a QStash schedule (the stand-in's cron, time-scaled:
 * an every-minute cron fires every 0.6 s here); every firing starts one run even though QStash
 * delivers each firing twice; bad cron or zone → 400 with the parser's reason; the tenant's cap →
 * 429 schedule_limit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ qstashDuplicateFraction: 1, workerVars: { MAX_SCHEDULES_PER_TENANT: "4" } });
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

describe("schedules", () => {
  it("fires N times with every delivery duplicated and starts exactly N runs", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("schedule");
    const stats = () => e2e.stack.qstash.stats();
    // Counted before the schedule exists: QStash arms it while the POST is still being answered, and
    // a firing in that window (an every-minute cron fires every 0.6 s here) would start a run the
    // count left out. No other schedule of this stack is live, so every firing from here on is ours.
    expect(stats().schedules.active).toBe(0);
    const firedBefore = stats().schedules.fired;
    const created = await e2e.api("POST", "/v1/schedules", {
      cron: "* * * * *",
      timezone: "Asia/Tokyo",
      assistant_id: assistant.id,
      input: "daily digest for {{date}}",
      callback_url: `${e2e.inbox.url}${path}`,
      metadata: { kind: "digest" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: "schedule",
      enabled: true,
      timezone: "Asia/Tokyo",
      conversation: null,
    });
    const id = created.body.id as string;
    await until("three firings", () => stats().schedules.fired - firedBefore >= 3);
    const paused = await e2e.api("PATCH", `/v1/schedules/${id}`, { enabled: false });
    expect(paused.status).toBe(200);
    expect(paused.body.enabled).toBe(false);
    // The QStash schedule is paused once the PATCH is answered: every firing there will be is counted.
    expect(stats().schedules.active).toBe(0);
    const fired = stats().schedules.fired - firedBefore;
    // Each firing's delivery (and its duplicate) started its run before QStash dropped the message,
    // and each run's steps and callback are QStash messages too: with none pending and a callback
    // for each firing, every run there will be has been delivered.
    const runIds = () => new Set(e2e.inbox.deliveries({ path }).map((d: any) => d.body.data.run.id));
    await until(
      `${fired} runs to end, with nothing pending in QStash`,
      () => stats().pending === 0 && runIds().size >= fired,
    );
    const runs = new Map<string, any>();
    for (const d of e2e.inbox.deliveries({ path }))
      runs.set((d.body as any).data.run.id, (d.body as any).data.run);
    expect(runs.size).toBe(fired); // exactly one run per firing, duplicates notwithstanding
    expect(stats().schedules.fired - firedBefore).toBe(fired); // a paused schedule does not fire
    expect(stats().duplicatesInjected).toBeGreaterThan(0);
    for (const run of runs.values()) {
      expect(run.status).toBe("completed");
      expect(run.metadata).toEqual({ kind: "digest", schedule_id: id });
    }
    expect(new Set([...runs.values()].map((r) => r.thread_id)).size).toBe(fired); // a fresh thread each time
    const read = await e2e.api("GET", `/v1/schedules/${id}`);
    expect(read.body.last_fired_at).not.toBeNull();
    expect((await e2e.api("DELETE", `/v1/schedules/${id}`)).body).toMatchObject({ id, deleted: true });
    expect((await e2e.api("GET", `/v1/schedules/${id}`)).status).toBe(404);
  });

  it("a firing that is slow to start its run keeps a pause made meanwhile", async () => {
    const assistant = await e2e.createAssistant();
    const stats = () => e2e.stack.qstash.stats();
    const created = await e2e.api("POST", "/v1/schedules", {
      cron: "* * * * *",
      assistant_id: assistant.id,
      input: "x",
      callback_url: `${e2e.inbox.url}${hookPath("sched-slow")}`,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    // The next firing's run create (its idempotency key names the schedule) answers 3 s late: the
    // firing has read the schedule and has not yet recorded last_fired_at.
    const { faults } = e2e.stack.redis;
    const slowBefore = faults.state().injected.slow ?? 0;
    faults.set([{ kind: "slow", next: 1, match: `sched.${id}.`, delayMs: 3_000 }]);
    try {
      await until("a firing held up", () => (faults.state().injected.slow ?? 0) > slowBefore);
      const paused = await e2e.api("PATCH", `/v1/schedules/${id}`, { enabled: false });
      expect(paused.status).toBe(200);
      await until("the held firing to be answered", () => stats().pending === 0);
    } finally {
      faults.set([]);
    }
    const read = await e2e.api("GET", `/v1/schedules/${id}`);
    expect(read.body.last_fired_at).not.toBeNull();
    expect(read.body.enabled).toBe(false); // the firing's write did not undo the pause
    expect(stats().schedules.active).toBe(0);
    expect((await e2e.api("DELETE", `/v1/schedules/${id}`)).status).toBe(200);
  });

  it("refuses an invalid cron or time zone with the parser's reason, and more schedules than the cap", async () => {
    const assistant = await e2e.createAssistant();
    const base = {
      assistant_id: assistant.id,
      input: "x",
      callback_url: `${e2e.inbox.url}${hookPath("sched-bad")}`,
    };
    const badCron = await e2e.api("POST", "/v1/schedules", { ...base, cron: "61 * * * *" });
    expect(badCron.status).toBe(400);
    expect(badCron.body.error).toMatchObject({ code: "invalid_cron", param: "cron" });
    expect(badCron.body.error.message).toMatch(/minute: 61/);
    const badZone = await e2e.api("POST", "/v1/schedules", {
      ...base,
      cron: "0 9 * * *",
      timezone: "Mars/Base",
    });
    expect(badZone.status).toBe(400);
    expect(badZone.body.error).toMatchObject({ code: "invalid_timezone", param: "timezone" });
    expect(badZone.body.error.message).toMatch(/Mars\/Base/);
    const badWindow = await e2e.api("POST", "/v1/schedules", {
      ...base,
      cron: "0 9 * * *",
      start_at: "2030-01-02T00:00:00Z",
      end_at: "2030-01-01T00:00:00Z",
    });
    expect(badWindow.status).toBe(400);

    const existing = (await e2e.api("GET", "/v1/schedules")).body.data.length;
    const made: string[] = [];
    for (let i = existing; i < 4; i++) {
      const r = await e2e.api("POST", "/v1/schedules", { ...base, cron: "0 9 * * *", enabled: false });
      expect(r.status).toBe(201);
      made.push(r.body.id);
    }
    const over = await e2e.api("POST", "/v1/schedules", { ...base, cron: "0 9 * * *", enabled: false });
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe("schedule_limit");
    for (const id of made) await e2e.api("DELETE", `/v1/schedules/${id}`);
  });
});
