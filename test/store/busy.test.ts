/**
 * The busy-thread policies in the intake script (createRun) and the start (takeHeld), against the
 * Upstash REST stand-in over a real redis-server: what each decides, concurrent arrivals included.
 */
import { describe, expect, it } from "vitest";
import { MessageStore } from "../../src/store/messages";
import { type CreateOptions, RunStore } from "../../src/store/runs";
import { useStoreRedis } from "../support/redis-rest";
import { defaults, inspect, makeMessage, makeRun, makeThread, TENANT } from "./fixtures";

const ctx = useStoreRedis();

const opts = (over: Partial<CreateOptions> = {}): CreateOptions => ({
  mode: "queue",
  expectedHeld: [],
  newMessages: [],
  thread: null,
  maxQueue: 20,
  ...over,
});

/** A thread with an active run `a`. */
async function busy() {
  const runs = new RunStore(ctx.redis, defaults());
  const messages = new MessageStore(ctx.redis);
  const thread = makeThread();
  const a = makeRun(thread.id);
  expect(await runs.create(a, null, opts({ thread, newMessages: [makeMessage(thread.id, "a")] }))).toEqual({
    kind: "start",
  });
  return { runs, messages, thread, a, state: inspect(ctx.redis) };
}

describe("createRun's policies on a busy thread", () => {
  it("reject names the active run and writes nothing; a full queue refuses the next run", async () => {
    const { runs, thread, a, state } = await busy();
    const r = makeRun(thread.id);
    expect(await runs.create(r, null, opts({ mode: "reject" }))).toEqual({
      kind: "reject",
      activeRunId: a.id,
    });
    expect(await runs.get(TENANT, r.id)).toBeNull();
    const queued = [makeRun(thread.id), makeRun(thread.id)];
    for (const q of queued) await runs.create(q, null, opts({ maxQueue: 2 }));
    expect(await runs.create(makeRun(thread.id), null, opts({ maxQueue: 2 }))).toEqual({
      kind: "full",
      max: 2,
    });
    expect(await state.queue(thread.id)).toEqual(queued.map((q) => q.id));
  });

  it("latest drops the queued runs, and their messages wait (held) for the newest, which takes them first", async () => {
    const { runs, messages, thread, a, state } = await busy();
    const m1 = makeMessage(thread.id, "one");
    const m2 = makeMessage(thread.id, "two");
    const m3 = makeMessage(thread.id, "three");
    const b = makeRun(thread.id);
    const c = makeRun(thread.id);
    const d = makeRun(thread.id);
    await runs.create(b, null, opts({ newMessages: [m1] }));
    expect(await runs.create(c, null, opts({ mode: "latest", newMessages: [m2] }))).toEqual({
      kind: "queued",
      activeRunId: a.id,
      dropped: [b.id],
      interrupt: false,
    });
    expect(await runs.create(d, null, opts({ mode: "interrupt", newMessages: [m3] }))).toEqual({
      kind: "queued",
      activeRunId: a.id,
      dropped: [c.id],
      interrupt: true,
    });
    expect(await state.queue(thread.id)).toEqual([d.id]);
    expect(await state.held(thread.id)).toEqual([m1.id, m2.id]);
    const taken = await messages.takeHeld(TENANT, thread.id, d.id, { now: Date.now(), debounce: false });
    expect(taken.kind === "taken" && taken.held.map((m) => m.id)).toEqual([m1.id, m2.id]);
    expect(await messages.sentBy(TENANT, thread.id, m3.id)).toEqual({ runId: d.id, index: 2 });
    // Every cancel decided was recorded as owed by the same script (the reconciler's if intake dies).
    const owed = await runs.owedCancels(TENANT, Date.now() + 1, 10);
    expect(owed.map((o) => `${o.runId} ${o.flag}`).sort()).toEqual(
      [`${b.id} superseded:${c.id}`, `${c.id} superseded:${d.id}`, `${a.id} 1`].sort(),
    );
    expect(await runs.applyOwedCancel(TENANT, b.id, "superseded:x")).toBe(0);
    expect((await runs.get(TENANT, b.id))?.run.cancel_reason).toEqual({ reason: "superseded", by: "x" });
    // A flag already there stays.
    await runs.requestCancel(TENANT, c.id, `superseded:${d.id}`);
    await runs.applyOwedCancel(TENANT, c.id, "1");
    expect((await runs.get(TENANT, c.id))?.run.cancel_reason?.by).toBe(d.id);
    for (const o of owed) await runs.settleOwedCancel(TENANT, o.entry);
    expect(await runs.owedCancels(TENANT, Date.now() + 1, 10)).toEqual([]);
    expect(await runs.applyOwedCancel(TENANT, "run_gone", "1")).toBeNull();
  });

  it("merge: concurrent arrivals join one run until it starts; then the next burst gets a new run", async () => {
    const { runs, messages, thread, a } = await busy();
    const cb = (n: number) => ({ url: `https://example.com/${n}`, headers: {} });
    // Each arrival reads the pending merge run, then runs the script (retrying when it moved).
    const arrive = async (n: number) => {
      const run = { ...makeRun(thread.id), callback: cb(n) };
      const newMessages = [makeMessage(thread.id, `m${n}`)];
      for (let i = 0; i < 10; i++) {
        const expectedMerge = await runs.pendingMerge(TENANT, thread.id);
        const out = await runs.create(run, null, opts({ mode: "merge", expectedMerge, newMessages }));
        if (out.kind === "merge_moved") continue;
        return { out, run, message: newMessages[0] };
      }
      throw new Error("never settled");
    };
    const burst = await Promise.all([1, 2, 3, 4, 5].map(arrive));
    const created = burst.filter((b) => b.out.kind === "queued");
    expect(created).toHaveLength(1);
    const merged = created[0]?.run.id as string;
    expect(created[0]?.out).toMatchObject({ activeRunId: a.id });
    for (const b of burst.filter((x) => x.out.kind === "merged"))
      expect(b.out).toEqual({ kind: "merged", runId: merged });

    const taken = await messages.takeHeld(TENANT, thread.id, merged, { now: Date.now(), debounce: false });
    if (taken.kind !== "taken") throw new Error("not taken");
    const others = burst.filter((b) => b.run.id !== merged);
    expect(taken.merged.map((m) => m.id)).toEqual(
      expect.arrayContaining(others.map((b) => b.message?.id as string)),
    );
    expect(taken.fanout).toHaveLength(4);
    // Started: the next merge message makes a new run.
    const late = await arrive(6);
    expect(late.out.kind).toBe("queued");
    expect(late.run.id).not.toBe(merged);
  });

  it("merge: a run whose first step may not be in QStash yet (publishing) takes no merges; the caller gets its own run", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const messages = new MessageStore(ctx.redis);
    const thread = makeThread();
    const m = makeRun(thread.id);
    expect(
      await runs.create(
        m,
        null,
        opts({ mode: "merge", thread, newMessages: [makeMessage(thread.id, "hi")] }),
      ),
    ).toEqual({ kind: "start" });
    expect((await runs.get(TENANT, m.id))?.publishing).toBe(true);
    // Intake is still publishing m's start (which may fail and withdraw m): no 202 may name m.
    const second = makeRun(thread.id);
    const out = await runs.create(
      second,
      null,
      opts({ mode: "merge", expectedMerge: m.id, newMessages: [makeMessage(thread.id, "more")] }),
    );
    expect(out).toEqual({ kind: "queued", activeRunId: m.id, dropped: [], interrupt: false });
    expect(await runs.pendingMerge(TENANT, thread.id)).toBe(second.id);
    // m withdrawn (its publish failed): the thread goes to the caller's own run, with its message.
    await runs.abandon(m, null, opts({ mode: "merge", newMessages: [] }), async () => {});
    const taken = await messages.takeHeld(TENANT, thread.id, second.id, { now: Date.now(), debounce: false });
    expect(taken.kind).toBe("taken");
    expect(await inspect(ctx.redis).active(thread.id)).toBe(second.id);
  });

  it("debounce: a start before the thread's quiet time waits; each message moves it; then it takes", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const messages = new MessageStore(ctx.redis);
    const thread = makeThread();
    const now = Date.now();
    const m = makeRun(thread.id, { now });
    const first = makeMessage(thread.id, "hi");
    await runs.create(m, null, opts({ mode: "merge", thread, debounceMs: 1000, newMessages: [first] }));
    await runs.published(TENANT, m.id);
    const second = { ...makeRun(thread.id, { now: now + 400 }) };
    const out = await runs.create(
      second,
      null,
      opts({
        mode: "merge",
        expectedMerge: m.id,
        debounceMs: 1000,
        newMessages: [makeMessage(thread.id, "more")],
      }),
    );
    expect(out).toEqual({ kind: "merged", runId: m.id });
    expect(await messages.takeHeld(TENANT, thread.id, m.id, { now: now + 1000, debounce: true })).toEqual({
      kind: "wait",
      waitMs: 400,
    });
    const taken = await messages.takeHeld(TENANT, thread.id, m.id, { now: now + 1400, debounce: true });
    expect(taken.kind === "taken" && taken.merged.map((x) => x.content)).toHaveLength(1);
    // A repeat (a duplicate step) gets the same answer, not a wait.
    expect(await messages.takeHeld(TENANT, thread.id, m.id, { now: now, debounce: true })).toEqual(taken);
  });
});
