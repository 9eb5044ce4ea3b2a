/**
 * A run's outbox (store/outbox.ts, outbox-lua.ts) on a real redis-server: saves append events once
 * with sequence numbers, the deliver step takes them in order under a lease, superseded deltas are
 * passed, and the runner's own event waits for the cursor (and passes its own superseded ones).
 */
import { describe, expect, it } from "vitest";
import { newProgress, type ProgressEvent } from "../../src/engine/progress";
import type { RunRecord } from "../../src/engine/types";
import { newId } from "../../src/store/ids";
import { RunStore } from "../../src/store/runs";
import { useStoreRedis } from "../support/redis-rest";
import { defaults, makeRun, TENANT } from "./fixtures";

const ctx = useStoreRedis();
const LEASE = 60_000;

async function claimed() {
  const runs = new RunStore(ctx.redis, defaults());
  const base = makeRun(newId("thread"));
  const run: RunRecord = {
    ...base,
    progress: newProgress(["run.in_progress", "run.step.completed", "message.delta"], 1000),
    callback: { url: "http://127.0.0.1:9/hook", headers: {} },
  };
  await runs.create(run, null, { mode: "queue", expectedHeld: [], newMessages: [], thread: null });
  expect((await runs.claim(TENANT, run.id, 0, "step", Date.now(), LEASE)).kind).toBe("ok");
  return { runs, run };
}

const delta = (run: RunRecord, n: number, text: string): ProgressEvent => ({
  id: `evt_${run.id}_d${n}`,
  type: "message.delta",
  created_at: 0,
  data: { text },
});

describe("a run's outbox", () => {
  it("numbers events once, in order, and hands them out one at a time under a lease", async () => {
    const { runs, run } = await claimed();
    const now = Date.now();
    const first = await runs.saveWith(run, "step", false, { now }, [delta(run, 1, "a")]);
    expect(first.kick).toBe(true); // no deliver step was due: publish one
    // The same event again (a repeated save) is not appended twice; a new one does not kick again.
    const again = await runs.saveWith(run, "step", false, { now }, [delta(run, 1, "a"), delta(run, 2, "ab")]);
    expect(again.kick).toBe(false);
    const head = await runs.outbox.head(TENANT, run.id, "d1", now, LEASE, 0);
    expect(head).toMatchObject({ kind: "event", seq: 1 });
    if (head.kind !== "event") throw new Error("no head");
    expect(JSON.parse(head.body)).toMatchObject({ sequence_number: 1, id: `evt_${run.id}_d1` });
    expect((await runs.outbox.head(TENANT, run.id, "d2", now, LEASE, 0)).kind).toBe("busy");
    await runs.outbox.record(
      TENANT,
      run.id,
      "d1",
      { seq: 1, outcome: "ok", notBeforeMs: 0, error: "", isDelta: true },
      now,
    );
    const next = await runs.outbox.head(TENANT, run.id, "d1", now, LEASE, 0);
    expect(next).toMatchObject({ kind: "event", seq: 2, lastDeltaMs: now });
  });

  it("an outcome recorded again (a repeated write whose answer was lost) is taken, and counted once", async () => {
    const { runs, run } = await claimed();
    const now = Date.now();
    await runs.saveWith(run, "step", false, { now }, [delta(run, 1, "a"), delta(run, 2, "ab")]);
    expect(await runs.outbox.head(TENANT, run.id, "d", now, LEASE, 0)).toMatchObject({ seq: 1 });
    const ok = { seq: 1, outcome: "ok" as const, notBeforeMs: 0, error: "", isDelta: false };
    expect(await runs.outbox.record(TENANT, run.id, "d", ok, now)).toBe(true);
    // The repeat is not refused: a refusal would end the deliver step holding the outbox's lease.
    expect(await runs.outbox.record(TENANT, run.id, "d", ok, now)).toBe(true);
    expect(await runs.outbox.summary(TENANT, run.id)).toMatchObject({ done: 1, delivered: 1 });
    expect(await runs.outbox.head(TENANT, run.id, "d", now, LEASE, 0)).toMatchObject({ seq: 2 });
  });

  it("a delta waiting behind the head is superseded by a newer one", async () => {
    const { runs, run } = await claimed();
    const now = Date.now();
    await runs.saveWith(run, "step", false, { now }, [
      delta(run, 1, "a"),
      delta(run, 2, "ab"),
      delta(run, 3, "abc"),
    ]);
    const head = await runs.outbox.head(TENANT, run.id, "d", now, LEASE, 0);
    expect(head).toMatchObject({ kind: "event", seq: 1 });
    await runs.outbox.record(
      TENANT,
      run.id,
      "d",
      { seq: 1, outcome: "ok", notBeforeMs: 0, error: "", isDelta: true },
      now,
    );
    // Delta 2 was superseded by delta 3: the next one handed out is 3.
    expect(await runs.outbox.head(TENANT, run.id, "d", now, LEASE, 0)).toMatchObject({
      kind: "event",
      seq: 3,
    });
  });

  it("the runner's event waits for the cursor, and passes an earlier event of its own it replaced", async () => {
    const { runs, run } = await claimed();
    const now = Date.now();
    await runs.saveWith(run, "step", false, { now }, [delta(run, 1, "a")]);
    // A requires_action the runner never finished delivering (outputs came through the API), then the end.
    const ra = await runs.outbox.turn(TENANT, run.id, "evt_ra1", now);
    expect(ra).toMatchObject({ seq: 2, ready: false, kick: false });
    const end = await runs.outbox.turn(TENANT, run.id, "evt_end", now);
    expect(end).toMatchObject({ seq: 3, ready: false });
    const head = await runs.outbox.head(TENANT, run.id, "d", now, LEASE, 0);
    await runs.outbox.record(
      TENANT,
      run.id,
      "d",
      { seq: 1, outcome: "ok", notBeforeMs: 0, error: "", isDelta: true },
      now,
    );
    expect(head.kind).toBe("event");
    // The deliver step stops at the runner's event; the runner's end passes the stale requires_action.
    expect((await runs.outbox.head(TENANT, run.id, "d", now, LEASE, 0)).kind).toBe("runner");
    expect(await runs.outbox.turn(TENANT, run.id, "evt_end", now)).toMatchObject({ seq: 3, ready: true });
    expect(await runs.outbox.advance(TENANT, run.id, 3, now)).toBe(false);
    expect(await runs.outbox.summary(TENANT, run.id)).toMatchObject({ events: 3, done: 3, delivered: 1 });
  });

  it("a run without progress events has no outbox", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const run = makeRun(newId("thread"));
    await runs.create(run, null, { mode: "queue", expectedHeld: [], newMessages: [], thread: null });
    await runs.claim(TENANT, run.id, 0, "step", Date.now(), LEASE);
    await runs.save({ ...run, status: "in_progress" }, "step", false, { now: Date.now() });
    expect(await runs.outbox.summary(TENANT, run.id)).toBeNull();
    expect(await runs.feed(TENANT, run.id)).toHaveLength(1);
  });
});
