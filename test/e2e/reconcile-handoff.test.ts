/**
 * Issue 13, the soak's runs stuck `queued` with only "accepted" in their timeline: a run queued on a
 * conversation behind one whose start could not be published. Intake withdraws that run (503) and
 * releases its thread, which goes to the queued run; when that run's start publish fails too, the
 * run holds its thread and waits in its tenant's slot queue with a slot free, and nothing retries
 * the hand-off: the reconciler only handed on slots it had freed itself. Now every reconcile call
 * hands each tenant's free slots to the runs waiting for one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, reconcileOnce, startE2E } from "../support/e2e";

let e2e: E2E;
let assistantId: string;
beforeAll(async () => {
  e2e = await startE2E({ workerVars: { DRIVE_STRATEGY: "poll" } });
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => e2e?.close());

const send = (conversation: string, input: string) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    conversation,
    input,
    callback_url: `${e2e.inbox.url}${hookPath("handoff")}`,
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the reconciler", () => {
  it("starts a run its thread went to when the withdrawn run before it could not publish, nor its release", async () => {
    const conversation = `handoff:${Date.now()}`;
    // QStash refuses the next two step publishes, each after hanging 1 s: the first run's start,
    // then (its release at intake) the start of the run queued behind it meanwhile.
    e2e.stack.qstash.faults.set([
      { kind: "publish_refuse", next: 2, delayMs: 1_000, match: "/internal/steps/drive" },
    ]);
    const first = send(conversation, "first");
    await sleep(300);
    const second = await send(conversation, "second");
    expect(second.status).toBe(202);
    expect((await first).status).toBe(503);
    expect(e2e.stack.qstash.faults.state().injected).toMatchObject({ publish_refuse: 2 });
    e2e.stack.qstash.faults.set([]);
    // Nothing drives it.
    await sleep(500);
    expect((await e2e.api("GET", `/v1/runs/${second.body.id}`)).body.status).toBe("queued");
    await reconcileOnce(e2e);
    const run = await e2e.waitForRun(second.body.id, ["completed", "failed"], 10_000);
    expect(run.status).toBe("completed");
    expect(run.output.text).toBe("echo: second");
  });
});
