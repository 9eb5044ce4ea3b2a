/**
 * The busy-thread policies when things go wrong, end to end:
 * - a Worker that dies after the intake script superseded queued runs (`latest`) or interrupted the
 *   active one (`interrupt`), before it wrote their cancel flags and steps
 *   (DEV_DIE_AT=before_supersede): the reconciler ends them, and their callers hear of it;
 * - a `merge` message that arrives while the thread's new run is still publishing its first step,
 *   which QStash then refuses (the run is withdrawn): the message gets its own run, never a 202
 *   naming a run that no longer exists;
 * - a redeliver of a merge run reaches every target again, the merged callers' too.
 */
import { Client } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    timeScale: 1,
    workerVars: { DEV_DIE_AT: "before_supersede", RECONCILE_GRACE_S: "0", DRIVE_STRATEGY: "poll" },
  });
});
afterAll(async () => e2e?.close());

const LONG = (text: string, ms: number) => `${text} #sim {"delay_ms": ${ms}}`;

async function until<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function reconcileOnce() {
  const qstash = new Client({ baseUrl: e2e.stack.qstash.url, token: e2e.stack.qstash.token });
  const before = e2e.stack.qstash.stats().byDestinationPath["/internal/steps/reconcile"] ?? 0;
  await qstash.publishJSON({ url: `${e2e.worker}/internal/steps/reconcile`, body: {} });
  await until(
    "the reconcile call",
    async () => (e2e.stack.qstash.stats().byDestinationPath["/internal/steps/reconcile"] ?? 0) > before,
  );
}

const runsOf = async (threadId: string) =>
  (await e2e.api("GET", `/v1/threads/${threadId}/runs?order=asc`)).body.data as any[];

describe("a Worker that dies before the superseded runs are cancelled", () => {
  it("latest: the superseded run does not stay queued; the reconciler ends it and its caller hears", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const conversation = `die-latest-${Date.now()}`;
    const send = (input: string, path: string, on_busy: string) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant,
        conversation,
        input,
        on_busy,
        callback_url: `${e2e.inbox.url}${path}`,
      });
    const first = await send(LONG("first", 3000), hookPath("die-first"), "queue");
    expect(first.status).toBe(202);
    const oldPath = hookPath("die-old");
    const old = await send("old", oldPath, "queue");
    expect(old.status).toBe(202);
    // The newest message supersedes `old`; the Worker dies before it cancels it.
    const newest = await send("newest", hookPath("die-new"), "latest");
    expect(newest.status).toBe(500);
    const runs = await runsOf(first.body.thread_id);
    const newestRun = runs.find((r) => r.id !== first.body.id && r.id !== old.body.id);
    expect(newestRun).toBeDefined();
    await reconcileOnce();
    const ended = await e2e.waitForRun(old.body.id, ["cancelled", "completed", "failed"], 30_000);
    expect(ended.status).toBe("cancelled");
    expect(ended.cancelled_reason).toBe("superseded");
    expect(ended.superseded_by).toBe(newestRun.id);
    const [d] = await e2e.inbox.waitFor(1, { path: oldPath, timeoutMs: 20_000 });
    expect((d?.body as any).type).toBe("run.cancelled");
    expect((d?.body as any).data.run.superseded_by).toBe(newestRun.id);
    // The newest run answers both messages once the first ends.
    const done = await e2e.waitForRun(newestRun.id, ["completed"], 30_000);
    expect(done.status).toBe("completed");
  }, 60_000);

  it("interrupt: the active run the message interrupted is cancelled by the reconciler", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const conversation = `die-interrupt-${Date.now()}`;
    const send = (input: string, on_busy: string) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant,
        conversation,
        input,
        on_busy,
        callback_url: `${e2e.inbox.url}${hookPath("die-int")}`,
      });
    const first = await send(LONG("first", 600_000), "queue");
    expect(first.status).toBe(202);
    await e2e.waitForRun(first.body.id, ["in_progress"], 20_000);
    const interrupting = await send("stop that", "interrupt");
    expect(interrupting.status).toBe(500);
    await reconcileOnce();
    const ended = await e2e.waitForRun(first.body.id, ["cancelled", "completed", "failed"], 30_000);
    expect(ended.status).toBe("cancelled");
    const runs = await runsOf(first.body.thread_id);
    const next = runs.find((r) => r.id !== first.body.id);
    expect((await e2e.waitForRun(next.id, ["completed"], 30_000)).status).toBe("completed");
  }, 60_000);
});

describe("merge while the new run's first step is being published", () => {
  it("a merge into a run QStash then refuses gets its own run, which answers it", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const conversation = `merge-publishing-${Date.now()}`;
    const send = (input: string, path: string) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant,
        conversation,
        input,
        on_busy: "merge",
        callback_url: `${e2e.inbox.url}${path}`,
      });
    const faults = e2e.stack.qstash.faults;
    const refusedBefore = faults.state().injected.publish_refuse ?? 0;
    // The first run's start step: a slow answer that ends in a refusal.
    faults.set([
      { kind: "publish_refuse", next: 1, status: 503, delayMs: 1500, match: "/internal/steps/drive" },
    ]);
    const firstPath = hookPath("mp-first");
    const firstP = send("first", firstPath);
    await until(
      "the refused publish to begin",
      async () => (faults.state().injected.publish_refuse ?? 0) > refusedBefore,
    );
    const secondPath = hookPath("mp-second");
    const second = await send("second", secondPath);
    const first = await firstP;
    faults.set([]);
    expect(first.status).toBe(503);
    expect(second.status).toBe(202);
    // The run its 202 names exists, and answers it.
    const done = await e2e.waitForRun(second.body.id, ["completed", "failed", "cancelled"], 30_000);
    expect(done.status).toBe("completed");
    expect(done.output.text).toContain("second");
    const [d] = await e2e.inbox.waitFor(1, { path: secondPath, timeoutMs: 20_000 });
    expect((d?.body as any).data.run.id).toBe(second.body.id);
    expect(e2e.inbox.deliveries({ path: firstPath })).toEqual([]);
  }, 60_000);
});

describe("redeliver of a merge run", () => {
  it("sends the last event again to every target, the merged callers' too, under the same ids", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const conversation = `redeliver-merge-${Date.now()}`;
    const send = (input: string, path: string, on_busy: string) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant,
        conversation,
        input,
        on_busy,
        callback_url: `${e2e.inbox.url}${path}`,
      });
    const first = await send(LONG("first", 2000), hookPath("rm-first"), "queue");
    expect(first.status).toBe(202);
    const paths = [hookPath("rm-a"), hookPath("rm-b"), hookPath("rm-c")];
    const answers = [];
    for (const [i, p] of paths.entries()) answers.push(await send(`m${i + 1}`, p, "merge"));
    const id = answers[0]?.body.id as string;
    for (const a of answers) expect(a.body.id).toBe(id);
    await e2e.waitForRun(id, ["completed"], 30_000);
    const firstIds: string[] = [];
    for (const p of paths) {
      const [d] = await e2e.inbox.waitFor(1, { path: p, timeoutMs: 20_000 });
      firstIds.push(d?.webhook_id as string);
    }
    expect(new Set(firstIds).size).toBe(3);
    const again = await e2e.api("POST", `/v1/runs/${id}/redeliver`, {});
    expect(again.status).toBe(202);
    for (const [i, p] of paths.entries()) {
      const got = await e2e.inbox.waitFor(2, { path: p, timeoutMs: 20_000 });
      expect(got.map((d: any) => d.webhook_id)).toEqual([firstIds[i], firstIds[i]]);
    }
  }, 60_000);
});
