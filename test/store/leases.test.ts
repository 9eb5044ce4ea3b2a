/**
 * Issue 13, finding 7: a short lease, extended before each long action for that action's maximum
 * (so a killed step stalls its run little, and a working one keeps it), and a busy answer that says when the lease ends, so QStash retries then instead of after
 * 1/4/16 s into a lease that still holds (and dead-letters the step).
 */
import { describe, expect, it } from "vitest";
import { stepLeaseMs } from "../../src/engine/constants";
import { actionLeaseMs, leaseKeeper } from "../../src/steps/runner";
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

  it("a step's base lease is short; a save extends it for the next action and never shortens it", async () => {
    for (const budget of [0, 2_000, 25_000]) expect(stepLeaseMs(budget)).toBeLessThanOrEqual(budget + 15_000);
    const { runs, run } = await created();
    const t0 = Date.now();
    await runs.claim(TENANT, run.id, 0, "step-a", t0, stepLeaseMs(25_000));
    // Before a tool round of 60 s: extended to cover it.
    await runs.save(run, "step-a", false, { now: t0 + 1_000, leaseMs: 70_000 });
    // A later save for a short action does not cut the tool round's lease.
    await runs.save(run, "step-a", false, { now: t0 + 2_000, leaseMs: 35_000 });
    const busy = await runs.claim(TENANT, run.id, 0, "step-b", t0 + 60_000, LEASE);
    expect(busy).toEqual({ kind: "busy", retryAfterMs: 11_000 });
  });
});

describe("a step's lease, action by action", () => {
  const budgetEnd = 1_000_000;
  const calls = (...timeouts: number[]) =>
    timeouts.map((timeout_ms, i) => ({
      call_id: `c${i}`,
      endpoint: { url: "http://x", timeout_ms },
    })) as never;
  it("covers a create's answer past the budget, a tool round's slowest endpoint, a delivery", () => {
    const request = {} as never;
    expect(actionLeaseMs({ type: "create_response", request }, budgetEnd - 5_000, budgetEnd)).toBe(35_000);
    expect(actionLeaseMs({ type: "create_response", request }, budgetEnd + 5_000, budgetEnd)).toBe(30_000);
    expect(actionLeaseMs({ type: "call_tools", calls: calls(2_000, 45_000) }, 0, budgetEnd)).toBe(45_000);
    expect(actionLeaseMs({ type: "deliver" }, 0, budgetEnd)).toBe(10_000);
    expect(actionLeaseMs({ type: "take_held" }, 0, budgetEnd)).toBe(5_000);
  });

  it("extends the lease only when the action would outlast it, in one save", async () => {
    const { runs, run } = await created();
    let now = Date.now();
    const budgetMs = 2_000;
    await runs.claim(TENANT, run.id, 0, "step-a", now, stepLeaseMs(budgetMs));
    const saves: number[] = [];
    const save = (...a: Parameters<RunStore["save"]>) => {
      saves.push(now);
      return runs.save(...a);
    };
    const deps = { runs: { save }, now: () => now, config: { drive: { budgetMs } } };
    const lease = leaseKeeper(deps as never, "step-a", now);
    lease.need(5_000); // a Redis-only action: the base lease covers it
    await lease.ensure(run);
    expect(saves).toHaveLength(0);
    lease.need(60_000); // a tool round of 60 s: one save, and the lease covers it
    await lease.ensure(run);
    expect(saves).toHaveLength(1);
    now += 60_000;
    expect((await runs.claim(TENANT, run.id, 0, "step-b", now, LEASE)).kind).toBe("busy");
    now += 6_000;
    expect((await runs.claim(TENANT, run.id, 0, "step-b", now, LEASE)).kind).toBe("ok");
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

describe("the reconciler's walk", () => {
  it("sees a stuck run behind more healthy, older slot holders than one call looks at", async () => {
    const runs = new RunStore(ctx.redis, defaults({ maxActiveRuns: 100 }));
    const t0 = Date.now() - 60_000;
    // 25 long, healthy runs (leased by a live step), taken before the stuck one.
    for (let i = 0; i < 25; i++) {
      const run = makeRun(newId("thread"), { now: t0 + i });
      await runs.create(run, null, { mode: "queue", expectedHeld: [], newMessages: [], thread: null });
      expect((await runs.claim(TENANT, run.id, 0, `step-${i}`, Date.now(), 10 * 60_000)).kind).toBe("ok");
      await ctx.redis.zadd(`th:${TENANT}:slots`, { score: t0 + i, member: run.id });
    }
    const stuck = makeRun(newId("thread"), { now: t0 + 100 });
    await runs.create(stuck, null, { mode: "queue", expectedHeld: [], newMessages: [], thread: null });
    await ctx.redis.zadd(`th:${TENANT}:slots`, { score: t0 + 100, member: stuck.id });
    const now = Date.now();
    const seen: string[] = [];
    let calls = 0;
    for (; calls < 3 && !seen.includes(stuck.id); calls++)
      seen.push(...(await runs.stranded(TENANT, now, now, 20)).runs.map((r) => r.run_id));
    expect(seen).toEqual([stuck.id]);
    expect(calls).toBe(2);
    // The walk starts over past the end: the next call looks at the oldest page again.
    expect((await runs.stranded(TENANT, now, now, 20)).runs).toEqual([]);
    expect((await runs.stranded(TENANT, now, now, 20)).runs.map((r) => r.run_id)).toEqual([stuck.id]);
  });
});
