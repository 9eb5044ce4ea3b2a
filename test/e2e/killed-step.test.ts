/**
 * Issue 13, finding 7: a step killed mid-way (DEV_DIE_AT=after_create_intent: the Worker dies once
 * the round's create intent is saved, letting go of nothing) holds its run only for a short lease:
 * the base lease (budget + a margin), extended for the action under way (a create's answer: 30 s).
 * QStash's retries, refused as busy with the lease's end as Retry-After, then the rescue, claim it
 * soon after and the run finishes. With the old lease (budget + 60 + 30 + 10 + 20 s ≈ 121 s here)
 * the run stalled for over two minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    workerVars: { DRIVE_STRATEGY: "poll", DRIVE_BUDGET_MS: "1000", DEV_DIE_AT: "after_create_intent" },
  });
});
afterAll(async () => e2e?.close());

const simResponses = async () =>
  ((await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as { data: any[] }).data;

describe("a step killed mid-way", () => {
  it("stalls its run for a short lease only, and the round still has one response", async () => {
    const assistant = await e2e.createAssistant();
    const started = Date.now();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${hookPath("killed")}`,
      input: "hello",
    });
    expect(res.status).toBe(202);
    // The create's lease: 1 s budget + 30 s + 5 s; then QStash's rescue cadence. The old 121 s
    // lease cannot finish inside this bound; the new one leaves a wide margin for a busy machine.
    const run = await e2e.waitForRun(res.body.id, ["completed", "failed"], 95_000);
    const tookMs = Date.now() - started;
    expect(run.status).toBe("completed");
    expect(tookMs).toBeLessThan(95_000);
    // It did die: the first delivery failed and a later one finished the run.
    expect(e2e.stack.qstash.stats().retries).toBeGreaterThan(0);
    const mine = (await simResponses()).filter((r) => r.metadata?.threadhook_run === res.body.id);
    expect(mine.map((r) => r.metadata.threadhook_round)).toEqual(["0"]);
  }, 120_000);
});
