/**
 * Claims and fencing of RunStore against the Upstash REST stand-in: a step carries the run's `seq`;
 * stale steps are refused, a live lease keeps others out until it expires, and only the lease holder
 * may save.
 */
import { describe, expect, it } from "vitest";
import { newId } from "../../src/store/ids";
import { keys } from "../../src/store/keys";
import { hgetAll } from "../../src/store/redis";
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

describe("claim and fencing", () => {
  it("a step at the run's seq gets it; others are busy while the lease lives", async () => {
    const { runs, run } = await created();
    const now = Date.now();
    const a = await runs.claim(TENANT, run.id, 0, "step-a", now, LEASE);
    expect(a).toMatchObject({ kind: "ok", seq: 0, cancelRequested: false });
    expect(a.kind === "ok" && a.run.id).toBe(run.id);
    expect(await runs.claim(TENANT, run.id, 0, "step-b", now + 1000, LEASE)).toMatchObject({ kind: "busy" });
    expect(await runs.claim(TENANT, run.id, null, "step-b", now + 1000, LEASE)).toMatchObject({
      kind: "busy",
    });
    // The holder may claim again (a retry of the same step).
    expect((await runs.claim(TENANT, run.id, 0, "step-a", now + 1000, LEASE)).kind).toBe("ok");
    const hash = await hgetAll(ctx.redis, keys.run(TENANT, run.id));
    expect(hash).toMatchObject({ lease: "step-a", lease_until: String(now + 1000 + LEASE), seq: "0" });
  });

  it("a step from the future (seq ahead) is busy and waits; a finished step bumps seq and fences the old one out", async () => {
    const { runs, run } = await created();
    const now = Date.now();
    expect(await runs.claim(TENANT, run.id, 1, "next", now, LEASE)).toMatchObject({ kind: "busy" });
    await runs.claim(TENANT, run.id, 0, "first", now, LEASE);
    const saved = { ...run, status: "in_progress" as const };
    expect(await runs.save(saved, "first", true)).toBe(1);
    const stale = await runs.claim(TENANT, run.id, 0, "late duplicate", now + 10, LEASE);
    expect(stale.kind).toBe("stale");
    expect(stale.kind === "stale" && stale.run?.status).toBe("in_progress");
    const next = await runs.claim(TENANT, run.id, 1, "next", now + 10, LEASE);
    expect(next).toMatchObject({ kind: "ok", seq: 1 });
    expect(next.kind === "ok" && next.run.status).toBe("in_progress");
  });

  it("only the lease holder saves; a save that does not finish keeps the lease and the seq", async () => {
    const { runs, run } = await created();
    const now = Date.now();
    await runs.claim(TENANT, run.id, 0, "holder", now, LEASE);
    expect(await runs.save({ ...run, status: "failed" }, "intruder", true)).toBeNull();
    expect((await runs.get(TENANT, run.id))?.run.status).toBe("queued");
    expect(await runs.save({ ...run, status: "in_progress" }, "holder", false)).toBe(0);
    const hash = await hgetAll(ctx.redis, keys.run(TENANT, run.id));
    expect(hash.lease).toBe("holder");
    expect(hash.seq).toBe("0");
    expect(await runs.get(TENANT, run.id)).toMatchObject({ seq: 0, run: { status: "in_progress" } });
    expect(await ctx.redis.ttl(keys.run(TENANT, run.id))).toBeGreaterThan(0);
  });

  it("an expired lease is taken over, and the old holder can no longer save", async () => {
    const { runs, run } = await created();
    const now = Date.now();
    await runs.claim(TENANT, run.id, 0, "dead step", now, LEASE);
    expect(await runs.claim(TENANT, run.id, 0, "rescuer", now + LEASE - 1, LEASE)).toMatchObject({
      kind: "busy",
    });
    expect((await runs.claim(TENANT, run.id, 0, "rescuer", now + LEASE + 1, LEASE)).kind).toBe("ok");
    expect(await runs.save({ ...run, status: "failed" }, "dead step", true)).toBeNull();
    expect(await runs.save({ ...run, status: "completed" }, "rescuer", true)).toBe(1);
    expect(await runs.get(TENANT, run.id)).toMatchObject({ seq: 1, run: { status: "completed" } });
  });

  it("unlock lets the next step in at once, and only the holder can unlock", async () => {
    const { runs, run } = await created();
    const now = Date.now();
    await runs.claim(TENANT, run.id, 0, "a", now, LEASE);
    await runs.unlock(run, "b");
    expect(await runs.claim(TENANT, run.id, 0, "b", now, LEASE)).toMatchObject({ kind: "busy" });
    await runs.unlock(run, "a");
    expect((await runs.claim(TENANT, run.id, 0, "b", now, LEASE)).kind).toBe("ok");
    const hash = await hgetAll(ctx.redis, keys.run(TENANT, run.id));
    expect(hash.seq).toBe("0");
  });

  it("a missing run is missing; a cancel request and later metadata come with the claim", async () => {
    const { runs, run } = await created();
    expect(await runs.claim(TENANT, newId("run"), null, "x", Date.now(), LEASE)).toEqual({ kind: "missing" });
    await runs.requestCancel(TENANT, run.id);
    await runs.setMetadata(TENANT, run.id, { k: "v" });
    const claimed = await runs.claim(TENANT, run.id, null, "x", Date.now(), LEASE);
    expect(claimed).toMatchObject({ kind: "ok", cancelRequested: true, seq: 0 });
    expect(claimed.kind === "ok" && claimed.run.cancel_requested).toBe(true);
    expect(claimed.kind === "ok" && claimed.run.params.metadata).toEqual({ k: "v" });
  });
});
