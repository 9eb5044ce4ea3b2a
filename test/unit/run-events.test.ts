/** The run event feed's stream (api/webhook/run-events.ts) and its events (engine `feedEvent`). */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { FEED_MAX_READS, FEED_RETRY_MS, feedStream } from "../../src/api/webhook/run-events";
import { feedEvent } from "../../src/engine/events";
import { buildFeedEvent, type CallbackEvent } from "../../src/engine/present";
import type { RunRecord } from "../../src/engine/types";
import { plainRun, T0 } from "../support/run-fixtures";

const withStatus = (run: RunRecord, status: RunRecord["status"], rounds = 0): RunRecord => ({
  ...run,
  status,
  tool_rounds: rounds,
  timeline: [...run.timeline, { status, at_ms: T0 + 1000 * (run.timeline.length + 1), cause: "test" }],
});

/** Serve one feed stream over `events()` (called once per read) with a fake clock. */
async function serve(run: RunRecord, events: () => CallbackEvent[], windowMs: number, lastId: string | null) {
  let now = T0;
  let reads = 0;
  const deps = {
    runs: {
      feed: async () => {
        reads++;
        return events();
      },
    },
    sleep: async (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
  const app = new Hono().get("/", (c) => feedStream(c, deps, run, lastId, { windowMs }));
  const text = await (await app.request("/")).text();
  const blocks = text.split("\n\n").filter((b) => b.trim() !== "");
  const parsed = blocks.map((b) =>
    Object.fromEntries(b.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)])),
  );
  return { parsed, reads: () => reads, elapsed: now - T0 };
}

describe("feedEvent", () => {
  it("names the callbacks' ids: one per in_progress round, per requires_action round, and the end", () => {
    const run = plainRun();
    expect(feedEvent(run)).toBeNull(); // queued
    const base = run.id.replace(/^run_/, "");
    expect(feedEvent(withStatus(run, "in_progress"))?.id).toBe(`evt_${base}_ip0`);
    expect(feedEvent(withStatus(run, "requires_action", 1))).toMatchObject({
      id: `evt_${base}_ra1`,
      type: "run.requires_action",
    });
    expect(feedEvent(withStatus(run, "cancelling"))).toBeNull();
    const done = { ...withStatus(run, "completed", 1), ended_at_ms: T0 + 5000 };
    expect(feedEvent(done)).toEqual({ id: `evt_${base}`, type: "run.completed", at_ms: T0 + 5000 });
    expect(buildFeedEvent(done)?.data.run.status).toBe("completed");
  });
});

describe("feedStream", () => {
  const run = withStatus(plainRun(), "in_progress");
  const ip = buildFeedEvent(run) as CallbackEvent;
  const end = buildFeedEvent({ ...withStatus(run, "completed"), ended_at_ms: T0 + 9000 }) as CallbackEvent;

  it("bounds a stream of a run that goes on: reads and time, then asks for a reconnect", async () => {
    const s = await serve(run, () => [ip], 25_000, null);
    expect(s.parsed[0]).toMatchObject({ id: ip.id, event: "run.in_progress" });
    expect(s.parsed.at(-1)).toMatchObject({ event: "reconnect", retry: String(FEED_RETRY_MS) });
    expect(JSON.parse(s.parsed.at(-1)?.data ?? "{}")).toEqual({ last_event_id: ip.id });
    expect(s.parsed).toHaveLength(2); // the event once, however often it was read
    expect(s.reads()).toBeGreaterThan(1);
    expect(s.reads()).toBeLessThanOrEqual(FEED_MAX_READS);
    expect(s.elapsed).toBeLessThanOrEqual(25_000);
  });

  it("answers once and ends with a zero window", async () => {
    const s = await serve(run, () => [ip], 0, null);
    expect(s.reads()).toBe(1);
    expect(s.parsed.map((p) => p.event)).toEqual(["run.in_progress", "reconnect"]);
  });

  it("sends what follows Last-Event-ID as it appears and ends after the terminal event", async () => {
    let n = 0;
    const s = await serve(run, () => (++n < 3 ? [ip] : [ip, end]), 25_000, ip.id);
    expect(s.parsed.map((p) => p.id)).toEqual([end.id]);
    expect(s.reads()).toBe(3);
    expect(JSON.parse(s.parsed[0]?.data ?? "{}")).toEqual(end);
  });

  it("replays everything when Last-Event-ID is no longer kept", async () => {
    const s = await serve(run, () => [ip, end], 25_000, "evt_gone");
    expect(s.parsed.map((p) => p.id)).toEqual([ip.id, end.id]);
  });
});
