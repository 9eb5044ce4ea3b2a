/**
 * Assistants v2 stream events (`thread.run.*`, `thread.run.step.*`, `thread.message.*`) derived
 * from a run record. Pure. A stream re-reads the record as the run moves and emits the facts it has
 * not emitted yet: every fact has a stable key, and facts are ordered by time, then by rank, so
 * emitting "what is new" after each read keeps the order of OpenAI's published streams (one active
 * step at a time; a step's `created` then `in_progress`; a message's deltas after its creation; one
 * final run event). An answer relayed live opens its run status and step first (`liveMessageStart`)
 * under the keys the record's facts get later, so nothing is sent twice.
 */
import { type MessageRecord, outputMessage } from "./messages";
import { presentAssistantsRun, presentStep } from "./present";
import { nextStepId } from "./tools";
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

/**
 * Facts at the same moment: a step that ends as the run's status changes (a tool step answered by
 * submitted outputs) first, then the new status, step starts, messages, the ends of steps that
 * opened at that moment (an answer's step), and the ending status last.
 */
const RANK = { earlierStepEnd: -1, status: 0, stepStart: 1, message: 2, stepEnd: 3, ending: 4 } as const;

/** Arguments of a tool call streamed from a record go in fragments of this many characters. */
const ARGUMENT_FRAGMENT = 24;

/** The run's facts not in `emitted`, in order; their keys are added to `emitted`. */
export function newEvents(
  run: RunRecord,
  emitted: Set<string>,
  liveMessages: ReadonlySet<string>,
): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (const f of facts(run, liveMessages)) {
    if (emitted.has(f.key)) continue;
    emitted.add(f.key);
    out.push(...f.events());
  }
  return out;
}

/**
 * What a stream that starts mid-run (after submit_tool_outputs) should not repeat: every fact before
 * the run's latest status change. That change itself (`queued` again) and what came with it (the
 * answered tool step's end) are the new stream's first events.
 */
export function alreadyEmitted(run: RunRecord): Set<string> {
  const since = run.timeline.at(-1)?.at_ms ?? Number.POSITIVE_INFINITY;
  return new Set(
    facts(run, new Set())
      .filter((f) => f.at < since)
      .map((f) => f.key),
  );
}

function facts(run: RunRecord, liveMessages: ReadonlySet<string>): Fact[] {
  const all = [...statusFacts(run), ...run.steps.flatMap((s) => stepFacts(run, s, liveMessages))];
  return all.sort((a, b) => a.at - b.at || a.rank - b.rank);
}

/** A status's key: its name and which time the run entered it (tool rounds repeat statuses). */
const statusKey = (status: RunStatus, occurrence: number) => `run:${status}:${occurrence}`;

function statusFacts(run: RunRecord): Fact[] {
  const seen = new Map<RunStatus, number>();
  return run.timeline.map((t) => {
    const occurrence = seen.get(t.status) ?? 0;
    seen.set(t.status, occurrence + 1);
    return {
      key: statusKey(t.status, occurrence),
      at: t.at_ms,
      rank: STREAM_END.has(t.status) ? RANK.ending : RANK.status,
      events: () => [{ event: `thread.run.${t.status}`, data: runAt(run, t.status) }],
    };
  });
}

/** The run as it was when it had `status` (the latest snapshot, with that status). */
function runAt(run: RunRecord, status: RunStatus) {
  const now = presentAssistantsRun(run);
  if (status === run.status) return now;
  return { ...now, status, required_action: null, completed_at: null, failed_at: null, cancelled_at: null };
}

const stepKey = (id: string, what: string) => `step:${id}:${what}`;

function stepFacts(run: RunRecord, step: RunStep, liveMessages: ReadonlySet<string>): Fact[] {
  const present = presentStep(run, step);
  const facts: Fact[] = [
    {
      key: stepKey(step.id, "created"),
      at: step.created_at_ms,
      rank: RANK.stepStart,
      events: () => [...stepOpening(present), ...(step.type === "tool_calls" ? toolCallDeltas(present) : [])],
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
      key: stepKey(step.id, step.status),
      at: step.completed_at_ms,
      rank: step.completed_at_ms > step.created_at_ms ? RANK.earlierStepEnd : RANK.stepEnd,
      events: () => [{ event: `thread.run.step.${step.status}`, data: present }],
    });
  }
  return facts;
}

type PresentedStep = ReturnType<typeof presentStep>;

/** A step opens in progress, without usage; a tool_calls step opens empty (its calls come as deltas). */
function stepOpening(p: PresentedStep): StreamEvent[] {
  const details =
    p.step_details.type === "tool_calls" ? { type: "tool_calls", tool_calls: [] } : p.step_details;
  const opening = { ...p, status: "in_progress", completed_at: null, usage: null, step_details: details };
  return [
    { event: "thread.run.step.created", data: opening },
    { event: "thread.run.step.in_progress", data: opening },
  ];
}

/**
 * A tool_calls step's calls as the original streamed them: per call, one delta that opens it (id,
 * name and `arguments: ""`), then its arguments in fragments, which the SDK's `toolCallDelta`
 * handlers add up.
 */
function toolCallDeltas(p: PresentedStep): StreamEvent[] {
  const calls = p.step_details.type === "tool_calls" ? p.step_details.tool_calls : [];
  const delta = (call: Record<string, unknown>): StreamEvent => ({
    event: "thread.run.step.delta",
    data: {
      id: p.id,
      object: "thread.run.step.delta",
      delta: { step_details: { type: "tool_calls", tool_calls: [call] } },
    },
  });
  return calls.flatMap((c, index) => [
    delta({
      index,
      id: c.id,
      type: "function",
      function: { name: c.function.name, arguments: "", output: null },
    }),
    ...fragments(c.function.arguments).map((arguments_) =>
      delta({ index, type: "function", function: { arguments: arguments_ } }),
    ),
  ]);
}

const fragments = (text: string) =>
  Array.from({ length: Math.ceil(text.length / ARGUMENT_FRAGMENT) }, (_, i) =>
    text.slice(i * ARGUMENT_FRAGMENT, (i + 1) * ARGUMENT_FRAGMENT),
  );

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

/**
 * An answer the model starts writing, relayed before the run's record has it: the run's
 * `in_progress` (when the record has not seen the model start yet), the answer's
 * `message_creation` step (under the id the record will give it) and the message's opening. The
 * keys go into `emitted`, so the record's own facts are not sent again later.
 */
export function liveMessageStart(
  run: RunRecord,
  messageId: string,
  emitted: Set<string>,
  nowMs: number,
): StreamEvent[] {
  const out: StreamEvent[] = [];
  if (run.status === "queued") {
    const key = statusKey("in_progress", run.timeline.filter((t) => t.status === "in_progress").length);
    if (!emitted.has(key)) {
      emitted.add(key);
      const data = {
        ...presentAssistantsRun(run),
        status: "in_progress",
        started_at: Math.floor(nowMs / 1000),
      };
      out.push({ event: "thread.run.in_progress", data });
    }
  }
  const step: RunStep = {
    id: nextStepId(run),
    type: "message_creation",
    status: "in_progress",
    created_at_ms: nowMs,
    completed_at_ms: null,
    message_id: messageId,
    usage: null,
  };
  if (!emitted.has(stepKey(step.id, "created"))) {
    emitted.add(stepKey(step.id, "created"));
    out.push(...stepOpening(presentStep(run, step)));
  }
  const opening = openingMessage(run, messageId, nowMs);
  out.push(
    { event: "thread.message.created", data: opening },
    { event: "thread.message.in_progress", data: opening },
  );
  return out;
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
