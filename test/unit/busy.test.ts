/** The pure parts of the busy-thread policies: choosing a policy, waiting for quiet, merging, superseding. */
import { describe, expect, it } from "vitest";
import { cancelFlag, ON_BUSY, resolveBusy, supersededFlag } from "../../src/engine/busy";
import { MAX_DEBOUNCE_MS } from "../../src/engine/bounds";
import { nextAction } from "../../src/engine/next";
import { presentRun } from "../../src/engine/present";
import { transition } from "../../src/engine/run";
import { fanoutTargets } from "../../src/steps/actions";
import { plainRun, T0 } from "../support/run-fixtures";

describe("resolveBusy", () => {
  it("takes the message's policy, else the assistant's, else the door's", () => {
    const door = { doorDefault: "queue" as const };
    expect(resolveBusy({ message: { on_busy: "merge" }, assistant: { on_busy: "reject" }, ...door })).toEqual(
      {
        mode: "merge",
        debounceMs: 0,
      },
    );
    expect(resolveBusy({ message: {}, assistant: { on_busy: "latest" }, ...door })).toEqual({
      mode: "latest",
      debounceMs: 0,
    });
    expect(resolveBusy({ message: {}, assistant: {}, ...door })).toEqual({ mode: "queue", debounceMs: 0 });
  });

  it("on the Assistants API only the request chooses: without it, the original refusal", () => {
    const asst = { on_busy: "merge" as const, debounce_ms: 500 };
    expect(resolveBusy({ message: {}, assistant: asst, doorDefault: "exclusive" })).toEqual({
      mode: "exclusive",
      debounceMs: 0,
    });
    expect(resolveBusy({ message: { on_busy: "queue" }, assistant: asst, doorDefault: "exclusive" })).toEqual(
      {
        mode: "queue",
        debounceMs: 0,
      },
    );
  });

  it("debounce_ms goes with queue and merge only, within its bound; the assistant's only with its policy", () => {
    const door = { doorDefault: "queue" as const };
    expect(resolveBusy({ message: { debounce_ms: 200 }, assistant: {}, ...door })).toEqual({
      mode: "queue",
      debounceMs: 200,
    });
    expect(
      resolveBusy({ message: { on_busy: "reject", debounce_ms: 200 }, assistant: {}, ...door }),
    ).toMatchObject({
      param: "debounce_ms",
    });
    expect(
      resolveBusy({ message: { debounce_ms: MAX_DEBOUNCE_MS + 1 }, assistant: {}, ...door }),
    ).toMatchObject({
      param: "debounce_ms",
    });
    const asst = { on_busy: "merge" as const, debounce_ms: 800 };
    expect(resolveBusy({ message: {}, assistant: asst, ...door })).toEqual({
      mode: "merge",
      debounceMs: 800,
    });
    // A message that names its own policy does not inherit the assistant's debounce.
    expect(resolveBusy({ message: { on_busy: "reject" }, assistant: asst, ...door })).toEqual({
      mode: "reject",
      debounceMs: 0,
    });
  });

  it("names every policy", () => {
    expect(ON_BUSY).toEqual(["queue", "reject", "interrupt", "latest", "merge"]);
  });
});

describe("a debounced run at its start", () => {
  it("waits (ending the step: an external wait) until its thread is quiet, then takes what merged into it", () => {
    const run = { ...plainRun({ input: "hi" }), debounce_ms: 1000 };
    expect(nextAction(run, T0).type).toBe("take_held");
    const waiting = transition(run, { type: "not_quiet", until_ms: T0 + 700 }, T0);
    expect(nextAction(waiting, T0 + 100)).toEqual({ type: "wait", until_ms: T0 + 700, external: true });
    expect(nextAction(waiting, T0 + 700).type).toBe("take_held");
    const cb = { url: "https://example.com/b", headers: {} };
    const taken = transition(
      waiting,
      {
        type: "held_taken",
        messages: [{ role: "user", content: "earlier" }],
        merged: [{ role: "user", content: "I need help with" }],
        fanout: [cb],
      },
      T0 + 700,
    );
    expect(taken.input).toEqual([
      { role: "user", content: "earlier" },
      { role: "user", content: "hi" },
      { role: "user", content: "I need help with" },
    ]);
    expect(taken.fanout).toEqual({ targets: [cb], sent: [] });
    expect(taken.quiet_until_ms).toBeNull();
    // Taken once: a repeat changes nothing, and a late "not quiet" is ignored.
    expect(transition(taken, { type: "held_taken", messages: [], merged: [] }, T0 + 800)).toBe(taken);
    expect(transition(taken, { type: "not_quiet", until_ms: T0 + 5000 }, T0 + 800)).toBe(taken);
  });
});

describe("a merge run that ends before it starts", () => {
  it("is closed to merges and learns its merged callers before its messages go back and it delivers", () => {
    const run = { ...plainRun(), merge: true, cancel_requested: true };
    const ended = transition(run, { type: "tick" }, T0);
    expect(nextAction(ended, T0)).toEqual({ type: "close_merge" });
    const cb = { url: "https://example.com/b", headers: {} };
    const closed = transition(ended, { type: "merge_closed", fanout: [cb] }, T0);
    expect(closed.fanout).toEqual({ targets: [cb], sent: [] });
    expect(nextAction(closed, T0)).toEqual({ type: "return_messages" });
    // A run that is not a merge run, or one that started, skips it.
    expect(
      nextAction(transition({ ...plainRun(), cancel_requested: true }, { type: "tick" }, T0), T0).type,
    ).toBe("return_messages");
  });
});

describe("merged callers' callbacks", () => {
  it("each target gets each event once, under its own id", () => {
    const run = {
      ...plainRun(),
      fanout: {
        targets: [
          { url: "https://example.com/b", headers: {} },
          { url: "https://example.com/c", headers: {} },
        ],
        sent: [],
      },
    };
    const all = fanoutTargets(run, "evt_1");
    expect(all.primary).toBe(true);
    expect(all.extra.map((t) => t.event_id)).toEqual(["evt_1_m1", "evt_1_m2"]);
    const after = transition(run, { type: "fanout_sent", event_ids: ["evt_1", "evt_1_m2"] }, T0);
    const rest = fanoutTargets(after, "evt_1");
    expect(rest.primary).toBe(false);
    expect(rest.extra.map((t) => t.url)).toEqual(["https://example.com/b"]);
    expect(fanoutTargets(plainRun(), "evt_1")).toEqual({ primary: true, extra: [] });
  });

  it("a redeliver sends the last event to every target again, the merged callers' too", () => {
    const targets = [
      { url: "https://example.com/b", headers: {} },
      { url: "https://example.com/c", headers: {} },
    ];
    const delivered = {
      ...plainRun({ callback: { url: "https://example.com/a", headers: {} } }),
      delivery: {
        ...plainRun().delivery,
        state: "delivered" as const,
        event_id: "evt_1",
        event_type: "run.completed",
      },
      fanout: { targets, sent: ["evt_1", "evt_1_m1", "evt_1_m2"] },
    };
    expect(fanoutTargets(delivered, "evt_1")).toEqual({ primary: false, extra: [] });
    const again = transition(delivered, { type: "redeliver" }, T0);
    expect(again.delivery.state).toBe("pending");
    const all = fanoutTargets(again, "evt_1");
    expect(all.primary).toBe(true);
    expect(all.extra.map((t) => t.event_id)).toEqual(["evt_1_m1", "evt_1_m2"]);
  });
});

describe("a superseded run", () => {
  it("ends cancelled with cancelled_reason superseded and the run that answers instead", () => {
    const flag = cancelFlag(supersededFlag("run_new"));
    expect(flag).toEqual({ reason: "superseded", by: "run_new" });
    expect(cancelFlag("1")).toEqual({ reason: null, by: null });
    const run = {
      ...plainRun(),
      cancel_requested: true,
      cancel_reason: { reason: "superseded", by: "run_new" },
    };
    const ended = transition(run, { type: "tick" }, T0 + 10);
    expect(ended.status).toBe("cancelled");
    const shown = presentRun(ended);
    expect(shown.cancelled_reason).toBe("superseded");
    expect(shown.superseded_by).toBe("run_new");
    expect(ended.timeline.at(-1)?.cause).toBe("superseded by run_new");
    // A plain cancel shows no reason.
    expect(
      presentRun(transition({ ...plainRun(), cancel_requested: true }, { type: "tick" }, T0)),
    ).not.toHaveProperty("cancelled_reason");
  });
});
