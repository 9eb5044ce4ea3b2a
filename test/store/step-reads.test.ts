/**
 * Issue 15: the step path's combined requests, against the Upstash REST stand-in. A claim reads the
 * tenant's webhook secrets; a run's start takes its held messages and reads the token quota and the
 * thread, extending the lease, in one request; a run's end saves and releases in one request. Each
 * keeps what the separate requests guaranteed: the lease fences writes, a lost lease writes nothing.
 */
import { describe, expect, it } from "vitest";
import { monthOf } from "../../src/engine/usage";
import { keys, TENANT_FIELDS } from "../../src/store/keys";
import { MessageStore } from "../../src/store/messages";
import { ThreadStore } from "../../src/store/records";
import { hgetAll } from "../../src/store/redis";
import { RunStore } from "../../src/store/runs";
import { useStoreRedis } from "../support/redis-rest";
import { answerOf, defaults, inspect, makeRun, makeThread, starter, TENANT } from "./fixtures";

const ctx = useStoreRedis();
const LEASE = 60_000;
const queue = { mode: "queue" as const, expectedHeld: [], newMessages: [] };

async function claimed(thread = makeThread()) {
  const runs = new RunStore(ctx.redis, defaults());
  const run = makeRun(thread.id);
  expect((await runs.create(run, null, { ...queue, thread })).kind).toBe("start");
  const now = Date.now();
  const claim = await runs.claim(TENANT, run.id, 0, "step", now, LEASE);
  if (claim.kind !== "ok") throw new Error(`not claimed: ${claim.kind}`);
  return { runs, run, thread, claim, now };
}

describe("a claim reads the tenant's webhook secrets", () => {
  it("answers them with the run (null when the tenant has none stored)", async () => {
    const none = await claimed();
    expect(none.claim.secrets).toBeNull();
    const stored = [{ id: "whs_1", secret: "whsec_AAAA", created_at_ms: 1, expires_at_ms: null }];
    await ctx.redis.hset(keys.tenant(TENANT), { [TENANT_FIELDS.secrets]: JSON.stringify(stored) });
    const some = await claimed();
    expect(some.claim.secrets).toEqual(stored);
  });
});

describe("a run's start reads ahead", () => {
  it("takes the held messages and reads the quota and the thread, extending the step's lease", async () => {
    const { run, thread, now } = await claimed();
    const messages = new MessageStore(ctx.redis);
    await new ThreadStore(ctx.redis).setConversationId(TENANT, thread.id, "conv_1");
    const month = monthOf(now);
    await ctx.redis.hset(keys.usage(TENANT, month), { input_tokens: 60, output_tokens: 40 });
    const reading = { owner: "step", leaseUntil: now + 2 * LEASE, month, defaultMonthlyTokens: 100 };
    const taken = await messages.takeHeld(TENANT, thread.id, run.id, { now, debounce: false, reading });
    expect(taken).toMatchObject({
      kind: "taken",
      held: [],
      read: {
        leaseUntil: now + 2 * LEASE,
        tokenQuota: 100, // 100 tokens used of the default 100
        thread: { id: thread.id, conversation_id: "conv_1", files_store: null },
      },
    });
    const hash = await hgetAll(ctx.redis, keys.run(TENANT, run.id));
    expect(hash.lease_until).toBe(String(now + 2 * LEASE));
    // The tenant's own quota wins over the default; under it, nothing is reached.
    await ctx.redis.hset(keys.tenant(TENANT), { [TENANT_FIELDS.monthlyTokens]: "1000" });
    const again = await messages.takeHeld(TENANT, thread.id, run.id, { now, debounce: false, reading });
    expect(again.kind === "taken" && again.read?.tokenQuota).toBeNull();
  });

  it("never shortens the lease, and extends no lease it does not hold", async () => {
    const { run, thread, now } = await claimed();
    const messages = new MessageStore(ctx.redis);
    const month = monthOf(now);
    const shorter = { owner: "step", leaseUntil: now + 1, month, defaultMonthlyTokens: 0 };
    const a = await messages.takeHeld(TENANT, thread.id, run.id, { now, debounce: false, reading: shorter });
    expect(a.kind === "taken" && a.read?.leaseUntil).toBe(now + LEASE);
    const other = { owner: "intruder", leaseUntil: now + 10 * LEASE, month, defaultMonthlyTokens: 0 };
    const b = await messages.takeHeld(TENANT, thread.id, run.id, { now, debounce: false, reading: other });
    expect(b.kind === "taken" && b.read).toMatchObject({ leaseUntil: null, tokenQuota: null });
    expect((await hgetAll(ctx.redis, keys.run(TENANT, run.id))).lease_until).toBe(String(now + LEASE));
  });

  it("without a reading, reads nothing and answers as before", async () => {
    const { run, thread, now } = await claimed();
    const taken = await new MessageStore(ctx.redis).takeHeld(TENANT, thread.id, run.id, {
      now,
      debounce: false,
    });
    expect(taken).toEqual({ kind: "taken", held: [], merged: [], fanout: [] });
  });
});

describe("a run's end saves and releases in one request", () => {
  it("saves the record under the lease, releases the thread and slot, and starts the next run", async () => {
    const { runs, run, thread, now } = await claimed();
    const next = makeRun(thread.id);
    expect((await runs.create(next, null, { ...queue, thread: null })).kind).toBe("queued");
    const ended = { ...run, status: "completed" as const, thread_released: true };
    const s = starter();
    const saved = await runs.releaseSave(ended, answerOf(run, "done"), s.start, {
      owner: "step",
      at: { now, leaseMs: LEASE * 2 },
      progress: [],
    });
    expect(saved).toEqual({ seq: 0, kick: false });
    const got = await runs.get(TENANT, run.id);
    expect(got?.run).toMatchObject({ status: "completed", thread_released: true });
    const hash = await hgetAll(ctx.redis, keys.run(TENANT, run.id));
    expect(hash).toMatchObject({ lease: "step", lease_until: String(now + 2 * LEASE), usage_counted: "1" });
    // The feed has the run's end, the thread its answer and the next run.
    expect((await runs.feed(TENANT, run.id)).map((e) => e.type)).toContain("run.completed");
    expect(await inspect(ctx.redis).active(thread.id)).toBe(next.id);
    expect(s.started).toEqual([next.id]);
    expect(await inspect(ctx.redis).slots()).toEqual([next.id]);
  });

  it("with the lease lost, writes nothing and keeps the thread and slot", async () => {
    const { runs, run, thread, now } = await claimed();
    expect((await runs.claim(TENANT, run.id, null, "other", now + LEASE + 1, LEASE)).kind).toBe("ok");
    const s = starter();
    const ended = { ...run, status: "completed" as const };
    const saved = await runs.releaseSave(ended, null, s.start, {
      owner: "step",
      at: { now },
      progress: [],
    });
    expect(saved).toEqual({ seq: null, kick: false });
    expect((await runs.get(TENANT, run.id))?.run.status).toBe(run.status);
    expect(await inspect(ctx.redis).active(thread.id)).toBe(run.id);
    expect(await inspect(ctx.redis).slots()).toEqual([run.id]);
  });
});

describe("a conversation the run made rides with its save", () => {
  const conversationOf = async (threadId: string) =>
    (await new ThreadStore(ctx.redis).get(TENANT, threadId))?.conversation_id ?? null;

  it("writes it to the thread in the save's request, never over the thread's own", async () => {
    const { runs, run, thread, now } = await claimed();
    await runs.saveWith(run, "step", false, { now }, []); // the script is loaded (EVALSHA after)
    expect(await conversationOf(thread.id)).toBeNull();
    const requests = ctx.rest.stats().requests;
    const saved = await runs.saveWith(run, "step", false, { now }, [], "conv_made");
    expect(saved.seq).not.toBeNull();
    expect(ctx.rest.stats().requests - requests).toBe(1);
    expect(await conversationOf(thread.id)).toBe("conv_made");
    await runs.saveWith(run, "step", false, { now }, [], "conv_other");
    expect(await conversationOf(thread.id)).toBe("conv_made");
  });

  it("writes nothing under a lease it does not hold", async () => {
    const { runs, run, thread, now } = await claimed();
    const saved = await runs.saveWith(run, "intruder", false, { now }, [], "conv_made");
    expect(saved.seq).toBeNull();
    expect(await conversationOf(thread.id)).toBeNull();
  });
});
