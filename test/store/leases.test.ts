/**
 * Issue 13, finding 7: a lease that outlasts the step holding it (renewed by each save inside the
 * step), and a busy answer that says when the lease ends, so QStash retries then instead of after
 * 1/4/16 s into a lease that still holds (and dead-letters the step).
 */
import { describe, expect, it } from "vitest";
import { stepLeaseMs } from "../../src/engine/constants";
import { newId } from "../../src/store/ids";
import { RunStore } from "../../src/store/runs";
import { useStoreRedis } from "../support/redis-rest";
import { defaults, makeRun, TENANT } from "./fixtures";

const ctx = useStoreRedis();
const LEASE = 60_000;

async function created() {
  const runs = new RunStore(ctx.redis, defaults());
  const run = makeRun(newId("thread"));
  await runs.create(run, null, { mode: "queue", expectedHeld: [], newMessages: [], thread: null });
  return { runs, run };
}

describe("leases", () => {
  it("a save inside the step renews the lease: another caller cannot take the run mid-step", async () => {
    const { runs, run } = await created();
    const t0 = Date.now();
    expect((await runs.claim(TENANT, run.id, 0, "step-a", t0, LEASE)).kind).toBe("ok");
    const t1 = t0 + LEASE - 1_000;
    expect(await runs.save(run, "step-a", false, { now: t1, leaseMs: LEASE })).toBe(0);
    // Past the first lease's end, within the renewed one: still busy.
    const other = await runs.claim(TENANT, run.id, 0, "step-b", t0 + LEASE + 1_000, LEASE);
    expect(other.kind).toBe("busy");
    expect((await runs.claim(TENANT, run.id, 0, "step-b", t1 + LEASE + 1, LEASE)).kind).toBe("ok");
  });

  it("busy says how long the lease still holds; a step from the future is told to come back soon", async () => {
    const { runs, run } = await created();
    const t0 = Date.now();
    await runs.claim(TENANT, run.id, 0, "step-a", t0, LEASE);
    const busy = await runs.claim(TENANT, run.id, 0, "step-b", t0 + 15_000, LEASE);
    expect(busy).toEqual({ kind: "busy", retryAfterMs: LEASE - 15_000 });
    const ahead = await runs.claim(TENANT, run.id, 1, "next", t0, LEASE);
    expect(ahead).toEqual({ kind: "busy", retryAfterMs: null });
  });

  it("the lease outlasts the longest step: the budget, a tool round, a create's answer and a delivery", () => {
    for (const budget of [0, 2_000, 25_000]) {
      // 60 s: the longest tool endpoint timeout; 30 s: a create's answer; 10 s: a delivery.
      expect(stepLeaseMs(budget)).toBeGreaterThanOrEqual(budget + 60_000 + 30_000 + 10_000);
    }
  });
});

describe("the reconciler's look", () => {
  it("finds a slot holder that nothing saved since the grace, frees a slot whose run is gone", async () => {
    const { runs, run } = await created();
    const now = Date.now();
    await ctx.redis.zadd(`th:${TENANT}:slots`, { score: now - 10_000, member: "run_gone" });
    const found = await runs.stranded(TENANT, now + 1, now + 1, 10);
    expect(found).toEqual({ runs: [{ run_id: run.id, seq: 0 }], freed: 1 });
  });
});
