/**
 * Issue 13, the soak's lost run: `completed`, its callback `pending` with no attempt and its next
 * attempt due long ago. A `call`-strategy run ends in the step QStash's callback (the call's answer)
 * drives; the end lets go of the run's thread and slot, and the step dies before the callback is
 * sent (DEV_DIE_AT=before_callback_sent), holding its lease. QStash retries the callback 3 times, each
 * refused as busy while the lease holds, and nothing rescues a callback; the reconciler looks only
 * at runs holding a slot. Now the step saves the run's end before the release, and a callback that
 * meets a busy lease on an ended run (which no longer waits for it) hands the end to a drive step
 * at the lease's end (QStash retries and rescues those), which sends the callback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  // `auto` without OpenAI webhooks is `call`.
  e2e = await startE2E({
    workerVars: { DEV_DIE_AT: "before_callback_sent", DRIVE_BUDGET_MS: "2000" },
  });
});
afterAll(async () => e2e?.close());

describe("a call run whose step died after its end let go of the slot", () => {
  it("still sends its callback, once", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("call-end-died");
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      input: "hello",
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(res.status).toBe(202);
    // The dead step's lease (the delivery's: 10 s and a margin) must run out first.
    const [delivery] = await e2e.inbox.waitFor(1, { path, timeoutMs: 60_000 });
    expect((delivery?.body as any).data.run.id).toBe(res.body.id);
    expect((delivery?.body as any).data.run.status).toBe("completed");
    const run = await e2e.api("GET", `/v1/runs/${res.body.id}`);
    expect(run.body.status).toBe("completed");
    expect(e2e.inbox.deliveries({ path })).toHaveLength(1);
  }, 90_000);
});
