/**
 * Issue 13, the soak's lost runs (`completed`, callback `pending`, nothing scheduled): a `call` run
 * ends in the step QStash's callback drives; its callback's first attempt fails, and the step must
 * publish the step for the next attempt (after the backoff). When QStash refuses that publish the
 * step saves the run and fails, and QStash's retry of the callback found the run waiting for that
 * attempt: not an unfinished end, so it was dropped as stale, and nothing ever made the attempt.
 * Now a waiting end counts as unfinished, and the retry schedules the attempt again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  // `auto` without OpenAI webhooks is `call`; a backoff longer than a step sleeps through (3 s).
  e2e = await startE2E({ workerVars: { DELIVERY_BACKOFF_S: "5,5" } });
});
afterAll(async () => e2e?.close());

const waitUntil = async (what: string, probe: () => Promise<boolean>, ms = 20_000) => {
  const until = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("a call run whose next callback attempt could not be scheduled", () => {
  it("still gets its callback delivered", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("call-end-wait");
    // The first attempt is answered 500.
    e2e.inbox.faults.set([{ kind: "error", next: 1, status: 500, match: path }]);
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      input: 'hello #sim {"delay_ms": 100000}',
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(res.status).toBe(202);
    await waitUntil("the call", async () => {
      const run = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body;
      return run.timeline.some((t: { cause: string }) => t.cause === "model called");
    });
    // The callback's step publishes the next attempt's step: refused.
    e2e.stack.qstash.faults.set([{ kind: "publish_refuse", next: 1, match: "/internal/steps/drive" }]);
    await waitUntil(
      "the refusal",
      async () => (e2e.stack.qstash.faults.state().injected.publish_refuse ?? 0) > 0,
    );
    e2e.stack.qstash.faults.set([]);
    const [failed, ok] = await e2e.inbox.waitFor(2, { path, timeoutMs: 30_000 });
    expect(failed?.answered_status).toBe(500);
    expect(ok?.answered_status).toBe(200);
    expect((ok?.body as any).data.run.status).toBe("completed");
    // The step records the attempt just after the inbox has answered it: wait for that save.
    await waitUntil(
      "the delivery recorded",
      async () => (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body.delivery?.state === "delivered",
    );
  }, 60_000);
});
