/**
 * Issue 13, finding 3: a Worker that dies between writing a run and publishing its first step
 * (DEV_DIE_AT=after_run_written) leaves a run no step drives, holding its thread and a slot. The
 * reconciler — a QStash schedule calling /internal/steps/reconcile — publishes its step; the run
 * then ends as usual and its thread takes the next message. Without the reconciler it stays queued.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, reconcileOnce, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    workerVars: { DEV_DIE_AT: "after_run_written", RECONCILE_GRACE_S: "0", DRIVE_STRATEGY: "poll" },
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
});
