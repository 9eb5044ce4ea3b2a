/**
 * Progress events (issue 18 part 2): what a run that opted in (`events` on the message or the
 * assistant) announces between `202` and its end — `run.in_progress` per round,
 * `run.step.completed` per finished step, `message.delta` with the text written so far, at most one
 * per `interval_ms`. Pure: the runner diffs the record it last saved with the one it saves now
 * (`progressEvents`) and the save appends what is new to the run's feed and outbox in one script
 * (store/outbox.ts), where each delivered event gets its `sequence_number`.
 */
import { presentStep } from "./present";
import { PROGRESS_EVENTS, type ProgressEventType, type RunProgress, type RunRecord } from "./types";

export { PROGRESS_EVENTS, type ProgressEventType, type RunProgress };

/** MESSAGE_DELTA_INTERVAL_MS's default: at most one `message.delta` a second per run. */
export const DEFAULT_DELTA_INTERVAL_MS = 1000;

export function newProgress(events: readonly ProgressEventType[], intervalMs: number): RunProgress | null {
  if (events.length === 0) return null;
  const wanted = PROGRESS_EVENTS.filter((e) => events.includes(e));
  return {
    events: wanted,
    interval_ms: intervalMs,
    text: "",
    text_of: null,
    deltas: 0,
    delta_at_ms: null,
    delta_text: "",
  };
}

export const wants = (run: RunRecord, type: ProgressEventType) =>
  run.progress?.events.includes(type) === true;

/** A run that asked for `message.delta` is driven by a strategy that reads the text as it is written. */
export const needsStream = (run: RunRecord) => wants(run, "message.delta");

const base = (run: RunRecord) => run.id.replace(/^run_/, "");

/**
 * Text the response `responseId` wrote (`delta`), added to the text so far; a `message.delta` is
 * made when the last one is at least `interval_ms` old (the text in between waits for the next).
 */
export function textWritten(run: RunRecord, responseId: string, delta: string, now: number): RunRecord {
  const p = run.progress;
  if (!p?.events.includes("message.delta")) return run;
  const text = p.text_of === responseId ? p.text + delta : delta;
  const due = p.delta_at_ms === null || now - p.delta_at_ms >= p.interval_ms;
  const next: RunProgress = { ...p, text, text_of: responseId };
  if (!due || text === p.delta_text) return { ...run, progress: next };
  return {
    ...run,
    progress: { ...next, deltas: p.deltas + 1, delta_at_ms: now, delta_text: text },
  };
}

/**
 * When the run has its answer: a last `message.delta` with exactly the answer's text, unless the
 * last one already carried it (so a bot's edited message ends equal to the final text).
 */
export function finalText(run: RunRecord, now: number): RunRecord {
  const p = run.progress;
  const text = run.output?.text;
  if (!p?.events.includes("message.delta") || !text || text === p.delta_text) return run;
  return {
    ...run,
    progress: { ...p, text, deltas: p.deltas + 1, delta_at_ms: now, delta_text: text },
  };
}

/** A progress event as callbacks and the feed carry it (the store adds `sequence_number`). */
export interface ProgressEvent {
  id: string;
  type: ProgressEventType;
  created_at: number;
  data: Record<string, unknown>;
}

/**
 * The progress events `next` stands for that `prev` (the record last saved) did not: a step that
 * completed, a new `message.delta`. (`run.in_progress` is the feed's own event: present.ts.)
 */
export function progressEvents(prev: RunRecord, next: RunRecord): ProgressEvent[] {
  if (!next.progress) return [];
  const out: ProgressEvent[] = [];
  const at = (ms: number | null) => Math.floor((ms ?? next.created_at_ms) / 1000);
  if (wants(next, "message.delta") && next.progress.deltas > (prev.progress?.deltas ?? 0)) {
    out.push({
      id: `evt_${base(next)}_d${next.progress.deltas}`,
      type: "message.delta",
      created_at: at(next.progress.delta_at_ms),
      data: {
        run_id: next.id,
        thread_id: next.thread_id,
        response_id: next.progress.text_of,
        round: next.tool_rounds,
        text: next.progress.delta_text,
      },
    });
  }
  if (wants(next, "run.step.completed")) {
    const done = new Set(prev.steps.filter((s) => s.status === "completed").map((s) => s.id));
    for (const step of next.steps) {
      if (step.status !== "completed" || done.has(step.id)) continue;
      out.push({
        id: `evt_${base(next)}_${step.id}`,
        type: "run.step.completed",
        created_at: at(step.completed_at_ms),
        data: { run_id: next.id, thread_id: next.thread_id, step: presentStep(next, step) },
      });
    }
  }
  return out;
}
