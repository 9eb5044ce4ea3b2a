/** Callback events a run produces: one per requires_action round and one when it ends. */
import type { RunRecord } from "./types";

const base = (run: RunRecord) => run.id.replace(/^run_/, "");

/** Queue an event for delivery: the id is stable across attempts and derived from the run. */
export function queueEvent(run: RunRecord, type: string, now: number): RunRecord {
  if (!run.callback) return run;
  const id = type === "run.requires_action" ? `evt_${base(run)}_ra${run.tool_rounds}` : `evt_${base(run)}`;
  return {
    ...run,
    delivery: {
      ...run.delivery,
      state: "pending",
      events: run.delivery.events + 1,
      event_id: id,
      event_type: type,
      cycle_start: run.delivery.attempts.length,
      next_attempt_at_ms: now,
    },
  };
}
