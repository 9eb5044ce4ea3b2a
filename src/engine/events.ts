/** Callback events a run produces: one per requires_action round and one when it ends. */
import { isTerminal, type RunRecord } from "./types";

const base = (run: RunRecord) => run.id.replace(/^run_/, "");

/** Queue an event for delivery: the id is stable across attempts and derived from the run. */
export function queueEvent(run: RunRecord, type: string, now: number): RunRecord {
  // Someone to tell: the run's own callback, or callers whose messages merged into it (on_busy merge).
  if (!run.callback && !run.fanout?.targets.length) return run;
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

/** The most events one run's feed keeps (the oldest go first; a resume from before them replays the rest). */
export const FEED_MAX_EVENTS = 64;

/**
 * The event the run's state stands for in its event feed (`GET /v1/runs/{id}/events`), or null:
 * `run.in_progress` once per round, `run.requires_action` per tool round and the terminal event,
 * with the same ids as the callbacks' (`webhook-id`). Every run has a feed, callback or not.
 */
export function feedEvent(run: RunRecord): { id: string; type: string; at_ms: number } | null {
  const at_ms = run.timeline.findLast((t) => t.status === run.status)?.at_ms ?? run.created_at_ms;
  if (run.status === "in_progress")
    return { id: `evt_${base(run)}_ip${run.tool_rounds}`, type: "run.in_progress", at_ms };
  if (run.status === "requires_action")
    return { id: `evt_${base(run)}_ra${run.tool_rounds}`, type: "run.requires_action", at_ms };
  if (isTerminal(run.status))
    return { id: `evt_${base(run)}`, type: `run.${run.status}`, at_ms: run.ended_at_ms ?? at_ms };
  return null;
}
