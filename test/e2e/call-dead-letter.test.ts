/**
 * Issue 13: a `call`-strategy run whose QStash callback (the call's answer) was dead-lettered waited
 * until its call's timeout (the run's deadline: minutes) with nothing to wake it, and an ended run
 * in that state held its thread for good. Now a step that finds the run still waiting for the answer
 * (the reconciler's, after its grace) reads the conversation: the response that ended is there, and
 * is adopted as the round's. Own stack: the Redis faults hit this run's callback only.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLAIM } from "../../src/store/scripts";
import { type E2E, hookPath, reconcileOnce, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  // `auto` without OpenAI webhooks is `call`; the reconciler restarts any run no step drives now.
  e2e = await startE2E({ workerVars: { RECONCILE_GRACE_S: "0" } });
});
afterAll(async () => e2e?.close());

const sha1 = (script: string) => createHash("sha1").update(script).digest("hex");
const waitUntil = async (what: string, probe: () => Promise<boolean> | boolean, ms = 20_000) => {
  const until = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
describe("a call whose callback QStash gave up on", () => {
  it("is answered from the conversation when the reconciler wakes the run", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("call-dead-letter");
    // The model takes 2 s (× time scale 0.01).
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      input: 'slow hello #sim {"delay_ms": 200000}',
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(res.status).toBe(202);
    await waitUntil("the call", async () => {
      const run = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body;
      return run.timeline.some((t: { cause: string }) => t.cause === "model called");
    });
    // The callback and its 3 retries fail (their claim meets a Redis error): dead-lettered.
    const dlq = e2e.stack.qstash.stats().dlq;
    await setRedisFaults([{ kind: "error_before", next: 4, match: sha1(CLAIM) }]);
    await waitUntil("the callback dead-lettered", () => e2e.stack.qstash.stats().dlq > dlq);
    await setRedisFaults([]);
    const waiting = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body;
    expect(waiting.status).toBe("in_progress");
    await reconcileOnce(e2e);
    const run = await e2e.waitForRun(res.body.id, ["completed", "failed", "expired"], 10_000);
    expect({ status: run.status, text: run.output?.text }).toEqual({
      status: "completed",
      text: "echo: slow hello",
    });
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 10_000 });
    expect((d?.body as { type?: string }).type).toBe("run.completed");
    // One response for the round: adopted, not created again.
    const sim = (await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as { data: any[] };
    expect(sim.data.filter((r) => r.metadata?.threadhook_run === res.body.id)).toHaveLength(1);
  });
});

describe("a callback whose release cannot hand the thread on (QStash refuses the next run's start)", () => {
  it("still delivers the run's callback; the reconciler starts the next run", async () => {
    const assistant = await e2e.createAssistant();
    const conversation = `refused-handoff:${Date.now()}`;
    const send = (input: string, path: string) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        conversation,
        input,
        callback_url: `${e2e.inbox.url}${path}`,
      });
    const [firstPath, secondPath] = [hookPath("handoff-first"), hookPath("handoff-second")];
    const first = await send('first #sim {"delay_ms": 200000}', firstPath);
    await waitUntil("the call", async () => {
      const run = (await e2e.api("GET", `/v1/runs/${first.body.id}`)).body;
      return run.timeline.some((t: { cause: string }) => t.cause === "model called");
    });
    const second = await send("second", secondPath);
    expect(second.status).toBe(202);
    // The callback's delivery and its 3 retries each try to publish the second run's start: refused.
    e2e.stack.qstash.faults.set([{ kind: "publish_refuse", next: 4, match: "/internal/steps/drive" }]);
    const [d] = await e2e.inbox.waitFor(1, { path: firstPath, timeoutMs: 10_000 });
    expect((d?.body as { type?: string }).type).toBe("run.completed");
    e2e.stack.qstash.faults.set([]);
    await reconcileOnce(e2e);
    const run = await e2e.waitForRun(second.body.id, ["completed", "failed", "expired"], 10_000);
    expect(run.status).toBe("completed");
  });
});

async function setRedisFaults(rules: unknown[]) {
  await fetch(`${e2e.stack.ready.redis.url}/__faults`, { method: "POST", body: JSON.stringify({ rules }) });
}
