/**
 * Issue 13, finding 2 in the store: a run that got its thread and a slot is `publishing` from its
 * creation until intake has published its first step (or a step claims it), so a replay of its
 * Idempotency-Key meanwhile cannot be told it was accepted. Issue 15: only runs something reads the
 * mark of (an Idempotency-Key, `on_busy: merge`) get it.
 */
import { describe, expect, it } from "vitest";
import { newId } from "../../src/store/ids";
import { marksPublishing, RunStore } from "../../src/store/runs";
import { useStoreRedis } from "../support/redis-rest";
import { defaults, makeRun, TENANT } from "./fixtures";

const ctx = useStoreRedis();

async function started(
  idem: { key: string; bodyHash: string } | null = { key: newId("msg"), bodyHash: "h" },
) {
  const runs = new RunStore(ctx.redis, defaults());
  const run = makeRun(newId("thread"));
  const outcome = await runs.create(run, idem, {
    mode: "queue",
    expectedHeld: [],
    newMessages: [],
    thread: null,
  });
  expect(outcome.kind).toBe("start");
  return { runs, run };
}

describe("the publishing flag", () => {
  it("is set only where something reads it: an Idempotency-Key's replay, a merge", async () => {
    const { runs, run } = await started(null);
    expect((await runs.get(TENANT, run.id))?.publishing).toBe(false);
    expect(marksPublishing(null, "queue")).toBe(false);
    expect(marksPublishing(null, "merge")).toBe(true);
    expect(marksPublishing({ key: "k" }, "latest")).toBe(true);
  });

  it("is set by the create that starts the run and cleared once intake has published", async () => {
    const { runs, run } = await started();
    expect((await runs.get(TENANT, run.id))?.publishing).toBe(true);
    await runs.published(TENANT, run.id);
    expect((await runs.get(TENANT, run.id))?.publishing).toBe(false);
  });

  it("is cleared by the first claim too (intake died after publishing, or the reconciler published)", async () => {
    const { runs, run } = await started();
    expect((await runs.claim(TENANT, run.id, 0, "step", Date.now(), 60_000)).kind).toBe("ok");
    expect((await runs.get(TENANT, run.id))?.publishing).toBe(false);
  });
});
