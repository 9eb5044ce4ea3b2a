/**
 * Issue 13, finding 3: a Worker that dies between writing a run and publishing its first step
 * (DEV_DIE_AT=after_run_written) leaves a run no step drives, holding its thread and a slot. The
 * reconciler — a QStash schedule calling /internal/steps/reconcile — publishes its step; the run
 * then ends as usual and its thread takes the next message. Without the reconciler it stays queued.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECONCILE_RUNS } from "../../src/commands/reconcile";
import { createRedis } from "../../src/store/redis";
import { RunStore } from "../../src/store/runs";
import { type E2E, hookPath, reconcileOnce, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    workerVars: {
      DEV_DIE_AT: "after_run_written",
      RECONCILE_GRACE_S: "0",
      DRIVE_STRATEGY: "poll",
      MAX_ACTIVE_RUNS: "100",
    },
  });
});
afterAll(async () => e2e?.close());

describe("the reconciler", () => {
  it("starts a run whose Worker died before publishing its first step", async () => {
    const assistant = await e2e.createAssistant();
    const key = `die:${Date.now()}`;
    const path = hookPath("reconciled");
    const sent = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      conversation: key,
      input: "hello",
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(sent.status).toBe(500);
    const conversation = (await e2e.api("GET", `/v1/conversations/${encodeURIComponent(key)}`)).body;
    const runs = (await e2e.api("GET", `/v1/threads/${conversation.id}/runs`)).body.data;
    expect(runs).toHaveLength(1);
    const runId = runs[0].id as string;
    // Nothing drives it: no step was published.
    await new Promise((r) => setTimeout(r, 500));
    expect((await e2e.api("GET", `/v1/runs/${runId}`)).body.status).toBe("queued");
    await reconcileOnce(e2e);
    const run = await e2e.waitForRun(runId, ["completed"]);
    expect(run.output.text).toBe("echo: hello");
    await e2e.inbox.waitFor(1, { path, timeoutMs: 10_000 });
    // Once more: nothing left to do, nothing published twice.
    const published = e2e.stack.qstash.stats().published;
    await reconcileOnce(e2e);
    expect(e2e.stack.qstash.stats().published).toBe(published + 1); // this test's own call only
  });

  it("finds a stuck run behind more long, healthy runs than one call looks at", async () => {
    const assistant = await e2e.createAssistant();
    const ids: string[] = [];
    for (let i = 0; i <= RECONCILE_RUNS + 5; i++) {
      const key = `walk:${Date.now()}:${i}`;
      const sent = await e2e.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        conversation: key,
        input: `hello ${i}`,
        callback_url: `${e2e.inbox.url}${hookPath("walk")}`,
      });
      expect(sent.status, JSON.stringify(sent.body)).toBe(500);
      const conversation = (await e2e.api("GET", `/v1/conversations/${encodeURIComponent(key)}`)).body;
      const runs = (await e2e.api("GET", `/v1/threads/${conversation.id}/runs`)).body.data;
      ids.push(runs[0].id as string);
    }
    // Every run but the newest is held by a live step (a long lease, as a healthy run's step holds it).
    const store = new RunStore(
      createRedis(e2e.stack.ready.redis.url, e2e.stack.ready.redis.token),
      {} as never,
    );
    const healthy = ids.slice(0, -1);
    const stuck = ids.at(-1) as string;
    for (const id of healthy)
      expect((await store.claim("default", id, 0, "a-healthy-step", Date.now(), 10 * 60_000)).kind).toBe(
        "ok",
      );
    // The walk: ⌈26 / 20⌉ = 2 calls see every run; the stuck one starts within them.
    for (let call = 0; call < 2; call++) await reconcileOnce(e2e);
    const run = await e2e.waitForRun(stuck, ["completed"], 20_000);
    expect(run.output.text).toBe(`echo: hello ${RECONCILE_RUNS + 5}`);
    // The healthy ones were left alone: no step published for them.
    for (const id of healthy.slice(0, 3))
      expect((await e2e.api("GET", `/v1/runs/${id}`)).body.status).toBe("queued");
  });
});
