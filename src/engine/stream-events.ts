/**
 * Assistants v2 stream events (`thread.run.*`, `thread.run.step.*`, `thread.message.*`) derived
 * from a run record. Pure. A stream re-reads the record as the run moves and emits the facts it has
 * not emitted yet: every fact has a stable key, and facts are ordered by time, then by rank, so
 * emitting "what is new" after each read keeps the order the SDK's stream helpers insist on (one
 * active step at a time; a message's deltas after its creation; one final run event).
 */
import { type MessageRecord, outputMessage } from "./messages";
import { presentRun, presentStep } from "./present";
import type { RunRecord, RunStatus, RunStep } from "./types";

export interface StreamEvent {
  event: string;
  data: unknown;
}

/** A fact of the run, with the key that says whether it was already emitted. */
interface Fact {
  key: string;
  at: number;
  rank: number;
  events: () => StreamEvent[];
}

/** Statuses that end an Assistants stream (the caller answers `requires_action` in a new one). */
export const STREAM_END: ReadonlySet<RunStatus> = new Set([
  "requires_action",
  "completed",
  "failed",
  "cancelled",
  "expired",
  "incomplete",
]);

/** Run events at the same moment: a new status first, step events next, the ending status last. */
const RANK = { status: 0, stepStart: 1, message: 2, stepEnd: 3, ending: 4 } as const;

/** The run's facts not in `emitted`, in order; their keys are added to `emitted`. */
export function newEvents(
  run: RunRecord,
  emitted: Set<string>,
  liveMessages: ReadonlySet<string>,
): StreamEvent[] {
  const facts = [...statusFacts(run), ...run.steps.flatMap((s) => stepFacts(run, s, liveMessages))];
  facts.sort((a, b) => a.at - b.at || a.rank - b.rank);
  const out: StreamEvent[] = [];
  for (const f of facts) {
    if (emitted.has(f.key)) continue;
    emitted.add(f.key);
    out.push(...f.events());
  }
  return out;
}

/** What a stream that starts mid-run (after submit_tool_outputs) should not repeat: all so far. */
export function alreadyEmitted(run: RunRecord): Set<string> {
  const emitted = new Set<string>();
  newEvents(run, emitted, new Set());
  return emitted;
}

function statusFacts(run: RunRecord): Fact[] {
  return run.timeline.map((t, i) => ({
    key: `run:${i}`,
    at: t.at_ms,
    rank: STREAM_END.has(t.status) ? RANK.ending : RANK.status,
    events: () => [{ event: `thread.run.${t.status}`, data: runAt(run, t.status) }],
  }));
}

/** The run as it was when it had `status` (the latest snapshot, with that status). */
function runAt(run: RunRecord, status: RunStatus) {
  const now = presentRun(run);
  if (status === run.status) return now;
  return { ...now, status, required_action: null, completed_at: null, failed_at: null, cancelled_at: null };
}

const stepKey = (s: RunStep, what: string) => `step:${s.id}:${what}`;

function stepFacts(run: RunRecord, step: RunStep, liveMessages: ReadonlySet<string>): Fact[] {
  const present = presentStep(run, step);
  const opening = {
    ...present,
    status: "in_progress",
    completed_at: null,
    step_details: openDetails(present),
  };
  const facts: Fact[] = [
    {
      key: stepKey(step, "created"),
      at: step.created_at_ms,
      rank: RANK.stepStart,
      events: () => [
        { event: "thread.run.step.created", data: opening },
        ...(step.type === "tool_calls" ? [toolCallsDelta(present)] : []),
      ],
    },
  ];
  const answer = step.type === "message_creation" ? outputMessage(run) : null;
  if (answer && answer.id === step.message_id && !liveMessages.has(answer.id)) {
    facts.push({
      key: `message:${answer.id}`,
      at: step.created_at_ms,
      rank: RANK.message,
      events: () => messageEvents(answer),
    });
  }
  if (step.status !== "in_progress" && step.completed_at_ms !== null) {
    facts.push({
      key: stepKey(step, step.status),
      at: step.completed_at_ms,
      rank: RANK.stepEnd,
      events: () => [{ event: `thread.run.step.${step.status}`, data: present }],
    });
  }
  return facts;
}

type PresentedStep = ReturnType<typeof presentStep>;

/** A tool_calls step opens empty; its calls arrive as a delta (as the original streamed them). */
function openDetails(p: PresentedStep): PresentedStep["step_details"] {
  return p.step_details.type === "tool_calls" ? { type: "tool_calls", tool_calls: [] } : p.step_details;
}

function toolCallsDelta(p: PresentedStep): StreamEvent {
  const calls = p.step_details.type === "tool_calls" ? p.step_details.tool_calls : [];
  return {
    event: "thread.run.step.delta",
    data: {
      id: p.id,
      object: "thread.run.step.delta",
      delta: {
        step_details: {
          type: "tool_calls",
          tool_calls: calls.map((c, index) => ({
            index,
            id: c.id,
            type: "function",
            function: { name: c.function.name, arguments: c.function.arguments, output: null },
          })),
        },
      },
    },
  };
}

/** A whole answer as created → in_progress → one delta → completed (when it was not streamed live). */
export function messageEvents(m: MessageRecord): StreamEvent[] {
  const opening = { ...m, status: "in_progress" as const, content: [], completed_at: null };
  const deltas = m.content.map((part, index) => messageDelta(m.id, index, part));
  return [
    { event: "thread.message.created", data: opening },
    { event: "thread.message.in_progress", data: opening },
    ...deltas,
    messageEnd(m),
  ];
}

export const messageEnd = (m: MessageRecord): StreamEvent => ({
  event: m.status === "incomplete" ? "thread.message.incomplete" : "thread.message.completed",
  data: m,
});

export function messageDelta(id: string, index: number, part: MessageRecord["content"][number]): StreamEvent {
  return {
    event: "thread.message.delta",
    data: { id, object: "thread.message.delta", delta: { role: "assistant", content: [{ index, ...part }] } },
  };
}

/** An answer message that is still being written (for live streaming, before the run records it). */
export function openingMessage(run: RunRecord, id: string, nowMs: number): MessageRecord {
  return {
    id,
    object: "thread.message",
    created_at: Math.floor(nowMs / 1000),
    thread_id: run.thread_id,
    status: "in_progress",
    incomplete_details: null,
    completed_at: null,
    incomplete_at: null,
    role: "assistant",
    content: [],
    assistant_id: run.assistant_id,
    run_id: run.id,
    attachments: [],
    metadata: {},
  };
}
