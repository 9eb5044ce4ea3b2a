/** Progress events, pure (engine/progress.ts) and the feed's resume past replaced deltas (commands/feed.ts). */
import { describe, expect, it } from "vitest";
import { feedAfter } from "../../src/commands/feed";
import type { CallbackEvent } from "../../src/engine/present";
import { finalText, newProgress, progressEvents, textWritten } from "../../src/engine/progress";
import type { RunRecord } from "../../src/engine/types";
import { plainRun, T0 } from "../support/run-fixtures";

const withEvents = (events: Parameters<typeof newProgress>[0]): RunRecord =>
  plainRun({ progress: newProgress(events, 1000) });

describe("message.delta", () => {
  it("is made at most once per interval, with all the text so far", () => {
    let run = withEvents(["message.delta"]);
    const made: string[] = [];
    for (let i = 0; i < 30; i++) {
      const before = run;
      run = textWritten(run, "resp_1", `w${i} `, T0 + i * 150);
      made.push(...progressEvents(before, run).map((e) => String(e.data.text)));
    }
    // 30 pieces over 4.35 s: one at once, then one each second.
    expect(made.length).toBe(5);
    for (let i = 1; i < made.length; i++) expect(made[i]?.startsWith(made[i - 1] ?? "x")).toBe(true);
    expect(run.progress?.text).toBe(Array.from({ length: 30 }, (_, i) => `w${i} `).join(""));
  });

  it("starts over with a new response, and the answer's text comes as a last delta unless already sent", () => {
    let run = withEvents(["message.delta"]);
    run = textWritten(run, "resp_1", "Let me check", T0);
    run = textWritten(run, "resp_2", "Shipped", T0 + 5000);
    expect(run.progress?.delta_text).toBe("Shipped");
    const ended = { ...run, output: { text: "Shipped Monday.", content: [] } };
    const last = finalText(ended, T0 + 5100);
    expect(progressEvents(ended, last).map((e) => [e.id, e.data.text])).toEqual([
      ["evt_1_d3", "Shipped Monday."],
    ]);
    expect(finalText(last, T0 + 5200)).toBe(last);
  });

  it("is not made for a run that did not ask for it", () => {
    const run = withEvents(["run.step.completed"]);
    expect(textWritten(run, "resp_1", "hi", T0)).toBe(run);
    expect(finalText({ ...run, output: { text: "hi", content: [] } }, T0).progress).toEqual(run.progress);
    expect(plainRun().progress).toBeUndefined();
  });
});

describe("run.step.completed", () => {
  it("is made once per step that completed since the last save", () => {
    const run = withEvents(["run.step.completed"]);
    const step = {
      id: "step_1",
      type: "message_creation" as const,
      status: "completed" as const,
      created_at_ms: T0,
      completed_at_ms: T0,
      message_id: "msg_1",
      usage: null,
    };
    const next = { ...run, steps: [step] };
    const events = progressEvents(run, next);
    expect(events.map((e) => [e.id, e.type])).toEqual([["evt_1_step_1", "run.step.completed"]]);
    expect((events[0]?.data.step as { object: string }).object).toBe("thread.run.step");
    expect(progressEvents(next, next)).toEqual([]);
  });
});

describe("the feed after a replaced delta", () => {
  const ev = (id: string, type: string) =>
    ({ id, type, created_at: 0, data: {} }) as unknown as CallbackEvent;
  const feed = [ev("evt_1_ip0", "run.in_progress"), ev("evt_1_d4", "message.delta")];
  const deps = { runs: { feed: async () => [...feed] } };
  const run = plainRun({});

  it("resumes from a delta it no longer keeps with the delta that replaced it", async () => {
    expect((await feedAfter(deps, run, "evt_1_d2")).events.map((e) => e.id)).toEqual(["evt_1_d4"]);
    expect((await feedAfter(deps, run, "evt_1_d4")).events).toEqual([]);
    expect((await feedAfter(deps, run, "evt_1_ip0")).events.map((e) => e.id)).toEqual(["evt_1_d4"]);
    // An unknown id of another kind replays all that is kept.
    expect((await feedAfter(deps, run, "evt_1_ra3")).events.length).toBe(2);
  });

  it("does not end at a progress event", async () => {
    expect((await feedAfter(deps, run, null)).ended).toBe(false);
  });
});
