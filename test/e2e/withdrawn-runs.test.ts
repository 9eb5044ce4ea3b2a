/**
 * Issue 13, the soak's terminal callbacks under two event ids, one of them from a run that was gone
 * (404): intake publishes a run's first step and, when the publish fails, withdraws the run (503:
 * nothing accepted, send it again). A publish can look failed and still have reached QStash (its
 * answer lost: QStash's `publish_lost_reply` fault; or the pump published the run's start before a
 * later Redis call failed); the step then claimed the run and ran it while intake deleted it, and
 * the caller's retry made a second run: two `run.completed` callbacks for one message. A withdrawal
 * now leaves alone a run a step has claimed, and the caller is told it was accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let assistantId: string;
beforeAll(async () => {
  e2e = await startE2E({ workerVars: { DRIVE_STRATEGY: "poll" } });
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => e2e?.close());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a start publish that looked failed but reached QStash", () => {
  it("keeps the run its step already claimed: 202, one run, one callback; a retry replays it", async () => {
    const path = hookPath("lost-reply");
    const body = { assistant_id: assistantId, input: "hello", callback_url: `${e2e.inbox.url}${path}` };
    const headers = { "Idempotency-Key": `idem-lost-reply-${Date.now()}` };
    // Every step publish is queued, and its answer fails 2 s later (the client's retries too): the
    // start step is delivered and claims the run while intake still waits for an answer (2 s, not
    // less: a loaded machine needs the time).
    e2e.stack.qstash.faults.set([
      { kind: "publish_lost_reply", fraction: 1, delayMs: 2_000, match: "/internal/steps/drive" },
    ]);
    let first: Awaited<ReturnType<typeof e2e.api>>;
    try {
      first = await e2e.api("POST", "/v1/messages", body, headers);
    } finally {
      e2e.stack.qstash.faults.set([]);
    }
    expect(e2e.stack.qstash.faults.state().injected.publish_lost_reply ?? 0).toBeGreaterThan(0);
    expect(first.status).toBe(202);
    const runId = first.body.id as string;

    const again = await e2e.api("POST", "/v1/messages", body, headers);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(runId);
    expect(again.headers.get("idempotent-replayed")).toBe("true");

    const [delivery] = await e2e.inbox.waitFor(1, { path, timeoutMs: 30_000 });
    expect((delivery?.body as any).data.run.id).toBe(runId);
    expect((delivery?.body as any).data.run.status).toBe("completed");
    const run = await e2e.api("GET", `/v1/runs/${runId}`);
    expect(run.status).toBe(200);
    // Nothing else answered the message: once QStash has nothing left, only this run's callback came.
    const until = Date.now() + 20_000;
    while (e2e.stack.qstash.stats().pending > 0 && Date.now() < until) await sleep(50);
    expect(e2e.stack.qstash.stats().pending).toBe(0);
    const runs = e2e.inbox.deliveries({ path }).map((d) => (d.body as any)?.data?.run?.id);
    expect(new Set(runs)).toEqual(new Set([runId]));
  });
});
