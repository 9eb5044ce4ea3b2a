/**
 * RunStore against the Upstash REST stand-in over a real redis-server (no Worker, no QStash): the
 * thread FIFO, held messages, the tenant's active-run slots, abandon and monthly quotas, asserted on
 * the Redis state the scripts leave behind.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ACTIVE_SLOT_STALE_MS } from "../../src/engine/constants";
import { monthOf } from "../../src/engine/usage";
import { newId } from "../../src/store/ids";
import { keys } from "../../src/store/keys";
import { MessageStore } from "../../src/store/messages";
import { ThreadStore } from "../../src/store/records";
import { hgetAll } from "../../src/store/redis";
import { type CreateOptions, RunStore } from "../../src/store/runs";
import { MAX_RUN_DOC_BYTES } from "../../src/engine/bounds";
import { RELEASE } from "../../src/store/scripts";
import { TenantStore } from "../../src/store/tenants";
import { useStoreRedis } from "../support/redis-rest";
import {
  answerOf,
  defaults,
  inspect,
  MODEL,
  makeMessage,
  makeRun,
  makeThread,
  starter,
  TENANT,
} from "./fixtures";

const ctx = useStoreRedis();
const sha1 = (script: string) => createHash("sha1").update(script).digest("hex");

const queueMode = (over: Partial<CreateOptions> = {}): CreateOptions => ({
  mode: "queue",
  expectedHeld: [],
  newMessages: [],
  thread: null,
  ...over,
});

describe("a thread's runs go one at a time, in arrival order", () => {
  it("queues runs behind the active one and starts each when the one before ends", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const state = inspect(ctx.redis);
    const thread = newId("thread");
    const [a, b, c] = [makeRun(thread), makeRun(thread), makeRun(thread)];
    expect(await runs.create(a, null, queueMode({ thread: makeThread(thread) }))).toEqual({ kind: "start" });
    const queued = { kind: "queued", activeRunId: a.id, dropped: [], interrupt: false };
    expect(await runs.create(b, null, queueMode())).toEqual(queued);
    expect(await runs.create(c, null, queueMode())).toEqual(queued);
    expect(await state.active(thread)).toBe(a.id);
    expect(await state.queue(thread)).toEqual([b.id, c.id]);
    expect(await state.slots()).toEqual([a.id]);
    expect(await state.threadRuns(thread)).toEqual(expect.arrayContaining([a.id, b.id, c.id]));

    const s = starter();
    await runs.releaseThread(a, answerOf(a, "first"), s.start);
    expect(s.started).toEqual([b.id]);
    expect(await state.active(thread)).toBe(b.id);
    expect(await state.queue(thread)).toEqual([c.id]);
    expect(await state.slots()).toEqual([b.id]);
    expect(await state.slotQueue()).toEqual([]);

    await runs.releaseThread(b, answerOf(b, "second"), s.start);
    await runs.releaseThread(c, answerOf(c, "third"), s.start);
    expect(s.started).toEqual([b.id, c.id]);
    expect(await state.active(thread)).toBeNull();
    expect(await state.slots()).toEqual([]);

    const messages = new MessageStore(ctx.redis);
    const page = await messages.list(TENANT, thread, { limit: 10, order: "asc" });
    expect(page.data.map((m) => m.content[0]?.type === "text" && m.content[0].text.value)).toEqual([
      "first",
      "second",
      "third",
    ]);
  });

  it("a released run's answer is recorded once, and a second release changes nothing", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const thread = newId("thread");
    const a = makeRun(thread);
    const b = makeRun(thread);
    await runs.create(a, null, queueMode({ thread: makeThread(thread) }));
    await runs.create(b, null, queueMode());
    const answer = answerOf(a, "only once");
    const s = starter();
    await runs.releaseThread(a, answer, s.start);
    await runs.releaseThread(a, { ...answer, metadata: { late: "1" } }, s.start);
    expect(s.started).toEqual([b.id]);
    expect(await inspect(ctx.redis).active(thread)).toBe(b.id);
    expect(await inspect(ctx.redis).messageIds(thread)).toEqual([answer.id]);
    expect((await new MessageStore(ctx.redis).get(TENANT, thread, answer.id))?.metadata).toEqual({});
  });

  it("exclusive mode refuses a run while the thread is busy, and writes nothing", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const thread = newId("thread");
    const a = makeRun(thread);
    await runs.create(a, null, queueMode({ thread: makeThread(thread) }));
    const b = makeRun(thread);
    expect(await runs.create(b, null, queueMode({ mode: "exclusive" }))).toEqual({
      kind: "busy",
      activeRunId: a.id,
    });
    expect(await runs.get(TENANT, b.id)).toBeNull();
    expect(await inspect(ctx.redis).queue(thread)).toEqual([]);
    const usage = await hgetAll(ctx.redis, keys.usage(TENANT, monthOf(a.created_at_ms)));
    expect(usage.runs).toBe("1");
  });

  it("a queued run taken out of the queue is skipped when the thread moves on", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const thread = newId("thread");
    const [a, b, c] = [makeRun(thread), makeRun(thread), makeRun(thread)];
    await runs.create(a, null, queueMode({ thread: makeThread(thread) }));
    await runs.create(b, null, queueMode());
    await runs.create(c, null, queueMode());
    expect(await runs.unqueue(b)).toBe(true);
    expect(await runs.unqueue(b)).toBe(false);
    expect(await runs.unqueue(a)).toBe(false); // the active run is not in the queue
    const s = starter();
    await runs.releaseThread(a, null, s.start);
    expect(s.started).toEqual([c.id]);
    expect(await inspect(ctx.redis).active(thread)).toBe(c.id);
  });

  it("idempotency: the same key answers the first run, and nothing else is written", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const thread = newId("thread");
    const a = makeRun(thread);
    const idem = { key: "idem-1", bodyHash: "hash-a" };
    expect(await runs.create(a, idem, queueMode({ thread: makeThread(thread) }))).toEqual({ kind: "start" });
    const again = makeRun(thread);
    expect(await runs.create(again, { key: "idem-1", bodyHash: "hash-b" }, queueMode())).toEqual({
      kind: "duplicate",
      runId: a.id,
      bodyHash: "hash-a",
    });
    expect(await runs.get(TENANT, again.id)).toBeNull();
    expect(await inspect(ctx.redis).queue(thread)).toEqual([]);
  });
});

describe("held messages", () => {
  it("a run built without the thread's held messages is refused with their ids; the retry with them carries them", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const messages = new MessageStore(ctx.redis);
    const threads = new ThreadStore(ctx.redis);
    const state = inspect(ctx.redis);
    const thread = makeThread();
    await threads.put(TENANT, thread);
    const [m1, m2] = [makeMessage(thread.id, "one"), makeMessage(thread.id, "two")];
    expect(await messages.add(TENANT, thread.id, [m1, m2])).toEqual({ kind: "ok" });
    expect(await state.held(thread.id)).toEqual([m1.id, m2.id]);

    const m3 = makeMessage(thread.id, "three");
    const stale = makeRun(thread.id);
    expect(await runs.create(stale, null, queueMode({ newMessages: [m3] }))).toEqual({
      kind: "held",
      ids: [m1.id, m2.id],
    });
    expect(await runs.get(TENANT, stale.id)).toBeNull();
    expect(await state.messageIds(thread.id)).toEqual([m1.id, m2.id]);
    expect(await state.held(thread.id)).toEqual([m1.id, m2.id]);

    const retry = makeRun(thread.id);
    const outcome = await runs.create(
      retry,
      null,
      queueMode({ expectedHeld: [m1.id, m2.id], newMessages: [m3] }),
    );
    expect(outcome).toEqual({ kind: "start" });
    expect(await state.held(thread.id)).toEqual([]);
    expect(await state.messageIds(thread.id)).toEqual([m1.id, m2.id, m3.id]);
    expect(await messages.sentBy(TENANT, thread.id, m1.id)).toEqual({ runId: retry.id, index: 0 });
    expect(await messages.sentBy(TENANT, thread.id, m3.id)).toEqual({ runId: retry.id, index: 2 });
    expect((await messages.heldMessages(TENANT, thread.id)).length).toBe(0);
  });

  it("messages cannot be added while a run holds the thread, nor to a thread that does not exist", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const messages = new MessageStore(ctx.redis);
    const thread = makeThread();
    const a = makeRun(thread.id);
    await runs.create(a, null, queueMode({ thread, newMessages: [makeMessage(thread.id, "go")] }));
    expect(await messages.add(TENANT, thread.id, [makeMessage(thread.id, "late")])).toEqual({
      kind: "busy",
      activeRunId: a.id,
    });
    expect(await messages.add(TENANT, newId("thread"), [makeMessage("x", "nowhere")])).toEqual({
      kind: "missing",
    });
    await runs.releaseThread(a, null, starter().start);
    expect(await messages.add(TENANT, thread.id, [makeMessage(thread.id, "now")])).toEqual({ kind: "ok" });
    expect((await inspect(ctx.redis).held(thread.id)).length).toBe(1);
  });
});

describe("a tenant's active-run slots", () => {
  it("runs beyond the limit wait for a slot in order, and a finishing run hands its slot on after the start is published", async () => {
    const runs = new RunStore(ctx.redis, defaults({ maxActiveRuns: 1 }));
    const state = inspect(ctx.redis);
    const [t1, t2, t3] = [newId("thread"), newId("thread"), newId("thread")];
    const [r1, r2, r3] = [makeRun(t1), makeRun(t2), makeRun(t3)];
    expect(await runs.create(r1, null, queueMode())).toEqual({ kind: "start" });
    expect(await runs.create(r2, null, queueMode())).toEqual({ kind: "waiting", pump: false });
    expect(await runs.create(r3, null, queueMode())).toEqual({ kind: "waiting", pump: false });
    expect(await state.slots()).toEqual([r1.id]);
    expect(await state.slotQueue()).toEqual([r2.id, r3.id]);
    // Waiting runs hold their threads.
    expect(await state.active(t2)).toBe(r2.id);

    const seen: { slots: string[]; queue: string[] }[] = [];
    await runs.releaseThread(r1, null, async (id) => {
      expect(id).toBe(r2.id);
      seen.push({ slots: await state.slots(), queue: await state.slotQueue() });
    });
    // While the start was being published, r2 did not hold the slot yet (a crash there strands nothing).
    expect(seen).toEqual([{ slots: [], queue: [r2.id, r3.id] }]);
    expect(await state.slots()).toEqual([r2.id]);
    expect(await state.slotQueue()).toEqual([r3.id]);

    const s = starter();
    await runs.releaseThread(r2, null, s.start);
    expect(s.started).toEqual([r3.id]);
    expect(await state.slots()).toEqual([r3.id]);
    expect(await state.slotQueue()).toEqual([]);
  });

  it("a start that fails to publish leaves the run first in line; the next pump hands it the slot", async () => {
    const runs = new RunStore(ctx.redis, defaults({ maxActiveRuns: 1 }));
    const state = inspect(ctx.redis);
    const [r1, r2] = [makeRun(newId("thread")), makeRun(newId("thread"))];
    await runs.create(r1, null, queueMode());
    await runs.create(r2, null, queueMode());
    await expect(
      runs.releaseThread(r1, null, async () => {
        throw new Error("queue down");
      }),
    ).rejects.toThrow("queue down");
    expect(await state.slots()).toEqual([]);
    expect(await state.slotQueue()).toEqual([r2.id]);
    const s = starter();
    await runs.pump(TENANT, s.start);
    expect(s.started).toEqual([r2.id]);
    expect(await state.slots()).toEqual([r2.id]);
    expect(await state.slotQueue()).toEqual([]);
  });

  it("a thread's next run joins the slot queue behind runs already waiting", async () => {
    const runs = new RunStore(ctx.redis, defaults({ maxActiveRuns: 1 }));
    const state = inspect(ctx.redis);
    const [t1, t2] = [newId("thread"), newId("thread")];
    const a1 = makeRun(t1);
    const b1 = makeRun(t2);
    const a2 = makeRun(t1);
    await runs.create(a1, null, queueMode());
    await runs.create(b1, null, queueMode());
    expect(await runs.create(a2, null, queueMode())).toMatchObject({ kind: "queued", activeRunId: a1.id });
    const s = starter();
    await runs.releaseThread(a1, null, s.start);
    expect(s.started).toEqual([b1.id]);
    expect(await state.active(t1)).toBe(a2.id);
    expect(await state.slotQueue()).toEqual([a2.id]);
    await runs.releaseThread(b1, null, s.start);
    expect(s.started).toEqual([b1.id, a2.id]);
  });

  it("a tenant's own limit wins over the default", async () => {
    await new TenantStore(ctx.redis).create(
      {
        id: TENANT,
        object: "tenant",
        name: null,
        created_at: 0,
        limits: { max_active_runs: 2, monthly_runs: null, monthly_tokens: null },
      },
      [],
      Date.now(),
    );
    const runs = new RunStore(ctx.redis, defaults({ maxActiveRuns: 1 }));
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await runs.create(makeRun(newId("thread")), null, queueMode()));
    expect(outcomes).toEqual([{ kind: "start" }, { kind: "start" }, { kind: "waiting", pump: false }]);
  });

  it("a stale slot is freed; a run arriving then tells the caller to pump the waiting one first", async () => {
    const runs = new RunStore(ctx.redis, defaults({ maxActiveRuns: 1 }));
    const state = inspect(ctx.redis);
    const [r1, r2, r3] = [makeRun(newId("thread")), makeRun(newId("thread")), makeRun(newId("thread"))];
    await runs.create(r1, null, queueMode());
    await runs.create(r2, null, queueMode());
    // r1's steps died long ago: its slot is older than any run can be.
    await ctx.redis.zadd(keys.activeSlots(TENANT), {
      score: Date.now() - ACTIVE_SLOT_STALE_MS - 1000,
      member: r1.id,
    });
    expect(await runs.create(r3, null, queueMode())).toEqual({ kind: "waiting", pump: true });
    expect(await state.slots()).toEqual([]);
    const s = starter();
    await runs.pump(TENANT, s.start);
    expect(s.started).toEqual([r2.id]);
    expect(await state.slots()).toEqual([r2.id]);
    expect(await state.slotQueue()).toEqual([r3.id]);
  });
});

describe("abandon (the first step could not be published)", () => {
  it("takes the run back: record, idempotency key, count and new messages go, held ones are held again, the thread is free", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const messages = new MessageStore(ctx.redis);
    const state = inspect(ctx.redis);
    const thread = makeThread();
    await new ThreadStore(ctx.redis).put(TENANT, thread);
    const held = makeMessage(thread.id, "held");
    await messages.add(TENANT, thread.id, [held]);
    const fresh = makeMessage(thread.id, "fresh");
    const run = makeRun(thread.id);
    const opts = queueMode({ expectedHeld: [held.id], newMessages: [fresh] });
    expect(await runs.create(run, { key: "idem-x", bodyHash: "h" }, opts)).toEqual({ kind: "start" });
    const usageKey = keys.usage(TENANT, monthOf(run.created_at_ms));
    expect((await hgetAll(ctx.redis, usageKey)).runs).toBe("1");

    const s = starter();
    await runs.abandon(run, "idem-x", opts, s.start);
    expect(s.started).toEqual([]);
    expect(await runs.get(TENANT, run.id)).toBeNull();
    expect(await state.exists(keys.idempotency(TENANT, "idem-x"))).toBe(0);
    expect(await state.threadRuns(thread.id)).toEqual([]);
    const usage = await hgetAll(ctx.redis, usageKey);
    expect(usage.runs).toBe("0");
    expect(usage[`runs|${MODEL}`]).toBe("0");
    expect(await state.messageIds(thread.id)).toEqual([held.id]);
    expect(await messages.get(TENANT, thread.id, fresh.id)).toBeNull();
    expect(await state.held(thread.id)).toEqual([held.id]);
    expect(await messages.sentBy(TENANT, thread.id, held.id)).toBeNull();
    expect(await state.active(thread.id)).toBeNull();
    expect(await state.slots()).toEqual([]);

    // The same request may come again and be accepted afresh.
    const again = makeRun(thread.id);
    expect(await runs.create(again, { key: "idem-x", bodyHash: "h" }, opts)).toEqual({ kind: "start" });
  });

  it("hands the thread to the run queued behind, and a second abandon changes nothing", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const state = inspect(ctx.redis);
    const thread = newId("thread");
    const [a, b] = [makeRun(thread), makeRun(thread)];
    await runs.create(a, null, queueMode());
    await runs.create(b, null, queueMode());
    const s = starter();
    await runs.abandon(a, null, queueMode(), s.start);
    expect(s.started).toEqual([b.id]);
    expect(await state.active(thread)).toBe(b.id);
    expect(await state.slots()).toEqual([b.id]);
    await runs.abandon(a, null, queueMode(), s.start);
    expect(s.started).toEqual([b.id]);
    expect(await state.active(thread)).toBe(b.id);
    const usage = await hgetAll(ctx.redis, keys.usage(TENANT, monthOf(a.created_at_ms)));
    expect(usage.runs).toBe("1");
  });
});

describe("abandon a run a step has claimed (issue 13: a withdrawn run still ran)", () => {
  it("keeps it: the publish that looked failed reached QStash, so the run is running and stays accepted", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const state = inspect(ctx.redis);
    const thread = makeThread();
    const run = makeRun(thread.id);
    const opts = queueMode({ thread, newMessages: [makeMessage(thread.id, "hi")] });
    expect(await runs.create(run, { key: "idem-claimed", bodyHash: "h" }, opts)).toEqual({ kind: "start" });
    // Its start step came and claimed it before intake saw the publish fail.
    expect((await runs.claim(TENANT, run.id, 0, "step", Date.now(), 60_000)).kind).toBe("ok");
    const s = starter();
    expect(await runs.abandon(run, "idem-claimed", opts, s.start)).toBe("claimed");
    expect((await runs.get(TENANT, run.id))?.run.id).toBe(run.id);
    expect(await state.exists(keys.idempotency(TENANT, "idem-claimed"))).toBe(1);
    expect(await state.active(thread.id)).toBe(run.id);
    expect(await state.slots()).toEqual([run.id]);
    const usage = await hgetAll(ctx.redis, keys.usage(TENANT, monthOf(run.created_at_ms)));
    expect(usage.runs).toBe("1");
    // A run not claimed yet is withdrawn as before; its step, if it comes, finds nothing to run.
    const other = makeRun(newId("thread"));
    expect((await runs.create(other, null, queueMode())).kind).toBe("start");
    expect(await runs.abandon(other, null, queueMode(), s.start)).toBe("withdrawn");
    expect((await runs.claim(TENANT, other.id, 0, "step", Date.now(), 60_000)).kind).toBe("missing");
  });
});

describe("a held message whose document is gone", () => {
  it("is not expected by a new run (intake reads only the documents): the run starts, the list is cleared", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const messages = new MessageStore(ctx.redis);
    const state = inspect(ctx.redis);
    const thread = makeThread();
    await new ThreadStore(ctx.redis).put(TENANT, thread);
    const [kept, ghost] = [makeMessage(thread.id, "kept"), makeMessage(thread.id, "ghost")];
    await messages.add(TENANT, thread.id, [kept, ghost]);
    await ctx.redis.hdel(keys.threadMessageDocs(TENANT, thread.id), ghost.id);
    // What intake passes: the held messages it could read.
    const expectedHeld = (await messages.heldMessages(TENANT, thread.id)).map((m) => m.id);
    expect(expectedHeld).toEqual([kept.id]);
    const run = makeRun(thread.id);
    expect(await runs.create(run, null, queueMode({ expectedHeld }))).toEqual({ kind: "start" });
    expect(await state.held(thread.id)).toEqual([]);
  });
});

describe("abandon when Redis fails under it", () => {
  it("lets go of the thread in the same script: a later failure cannot leave it held by the gone run", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const state = inspect(ctx.redis);
    const thread = newId("thread");
    const [a, b] = [makeRun(thread), makeRun(thread)];
    await runs.create(a, null, queueMode());
    await runs.create(b, null, queueMode());
    // Every release script fails (the old abandon released the thread in a second request).
    ctx.rest.faults.set([{ kind: "error_before", next: 5, match: sha1(RELEASE), status: 500 }]);
    const s = starter();
    await runs.abandon(a, null, queueMode(), s.start).catch(() => {});
    const failed = ctx.rest.faults.state().injected.error_before ?? 0;
    ctx.rest.faults.set([]);
    expect(await runs.get(TENANT, a.id)).toBeNull();
    expect(await state.active(thread)).toBe(b.id);
    expect(await state.slots()).toEqual([b.id]);
    expect(s.started).toEqual([b.id]);
    expect(failed).toBe(0); // nothing is left for a release script to do
  });
});

describe("monthly quotas", () => {
  it("refuses a run at the run quota, writing nothing; an abandoned run gives its place back", async () => {
    const runs = new RunStore(ctx.redis, defaults({ monthlyRuns: 2 }));
    const accepted = [makeRun(newId("thread")), makeRun(newId("thread"))];
    for (const r of accepted) expect((await runs.create(r, null, queueMode())).kind).toBe("start");
    const third = makeRun(newId("thread"));
    expect(await runs.create(third, null, queueMode())).toEqual({ kind: "quota", quota: "runs", limit: 2 });
    expect(await runs.get(TENANT, third.id)).toBeNull();
    expect(await inspect(ctx.redis).active(third.thread_id)).toBeNull();

    await runs.abandon(accepted[1]!, null, queueMode(), starter().start);
    expect((await runs.create(third, null, queueMode())).kind).toBe("start");
  });

  it("counts runs per month: a run of the next month is not refused", async () => {
    const runs = new RunStore(ctx.redis, defaults({ monthlyRuns: 1 }));
    const may = Date.UTC(2030, 4, 31, 23, 59);
    const june = Date.UTC(2030, 5, 1, 0, 1);
    expect((await runs.create(makeRun(newId("thread"), { now: may }), null, queueMode())).kind).toBe("start");
    expect((await runs.create(makeRun(newId("thread"), { now: may }), null, queueMode())).kind).toBe("quota");
    expect((await runs.create(makeRun(newId("thread"), { now: june }), null, queueMode())).kind).toBe(
      "start",
    );
  });

  it("refuses runs once the month's tokens reach the token quota; tokens are counted once per run", async () => {
    const runs = new RunStore(ctx.redis, defaults({ monthlyTokens: 100 }));
    const a = makeRun(newId("thread"));
    await runs.create(a, null, queueMode());
    const ended = { ...a, usage: { prompt_tokens: 40, completion_tokens: 20, total_tokens: 60 } };
    await runs.releaseThread(ended, null, starter().start);
    await runs.releaseThread(ended, null, starter().start); // a duplicate step
    const usage = await hgetAll(ctx.redis, keys.usage(TENANT, monthOf(a.created_at_ms)));
    expect(usage).toMatchObject({
      input_tokens: "40",
      output_tokens: "20",
      [`input_tokens|${MODEL}`]: "40",
      [`output_tokens|${MODEL}`]: "20",
    });
    expect((await runs.create(makeRun(newId("thread")), null, queueMode())).kind).toBe("start");

    const b = makeRun(newId("thread"));
    await runs.create(b, null, queueMode());
    await runs.releaseThread(
      { ...b, usage: { prompt_tokens: 30, completion_tokens: 10, total_tokens: 40 } },
      null,
      starter().start,
    );
    expect(await runs.create(makeRun(newId("thread")), null, queueMode())).toEqual({
      kind: "quota",
      quota: "tokens",
      limit: 100,
    });
  });

  it("a tenant's own quota wins over the default", async () => {
    await new TenantStore(ctx.redis).create(
      {
        id: TENANT,
        object: "tenant",
        name: null,
        created_at: 0,
        limits: { max_active_runs: null, monthly_runs: 1, monthly_tokens: null },
      },
      [],
      Date.now(),
    );
    const runs = new RunStore(ctx.redis, defaults({ monthlyRuns: 5 }));
    expect((await runs.create(makeRun(newId("thread")), null, queueMode())).kind).toBe("start");
    expect(await runs.create(makeRun(newId("thread")), null, queueMode())).toEqual({
      kind: "quota",
      quota: "runs",
      limit: 1,
    });
  });
});

describe("the run document's ceiling", () => {
  it("refuses to write a run document past MAX_RUN_DOC_BYTES, on create and on save, keeping what was there", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const big = (run: ReturnType<typeof makeRun>) => ({
      ...run,
      params: { ...run.params, instructions: "é".repeat(MAX_RUN_DOC_BYTES / 2) },
    });
    const tooBig = makeRun(newId("thread"));
    await expect(runs.create(big(tooBig), null, queueMode())).rejects.toMatchObject({
      status: 413,
      code: "run_too_large",
    });
    expect(await ctx.redis.exists(keys.run(TENANT, tooBig.id))).toBe(0);

    const run = makeRun(newId("thread"));
    await runs.create(run, null, queueMode());
    const claim = await runs.claim(TENANT, run.id, 0, "owner-1", Date.now(), 60_000);
    expect(claim.kind).toBe("ok");
    await expect(runs.save(big(run), "owner-1", false)).rejects.toMatchObject({
      status: 413,
      code: "run_too_large",
    });
    expect((await runs.get(TENANT, run.id))?.run.params.instructions).toBe(run.params.instructions);
  });
});
