/** What the step runner should do next for a run. Pure: decided from the record and `now`. */
import { createKey } from "./call";
import { CALL_ANSWER_GRACE_MS, CALL_LOOK_MIN_MS } from "./constants";
import { type FileAction, fileAction } from "./files";
import { allAnswered, callerCallsOpen, endpointCallsOpen } from "./tools";
import { isTerminal, type PendingCall, type RunRecord } from "./types";
import {
  isUpstreamTerminal,
  RESPONSE_METADATA,
  type ResponseInput,
  type ResponseRequest,
} from "./upstream-types";

export type Action =
  /** Before the run's first response: is the tenant's monthly token quota used up? */
  | { type: "check_quota" }
  | { type: "create_conversation" }
  | { type: "create_response"; request: ResponseRequest }
  | { type: "observe"; response_id: string; cursor: number | null }
  | { type: "cancel_response"; response_id: string }
  | { type: "call_tools"; calls: PendingCall[] }
  /**
   * A call's answer is overdue here (its callback may have been dead-lettered): read the
   * conversation's newest items for the round's response (`request`: the round's create) and adopt
   * it when it has ended; `given_up`: past the call's timeout and its callback's retries, so a call
   * whose response is not there is lost.
   */
  | { type: "find_call_answer"; conversation_id: string; request: ResponseRequest; given_up: boolean }
  /** `outputs[i]`: the output `call_ids[i]` had (never sent), or null for "not executed". */
  | { type: "close_calls"; conversation_id: string; call_ids: string[]; outputs?: (string | null)[] }
  /** At the start: messages held on the thread (an earlier run gave them back) join this run's input. */
  | { type: "take_held" }
  /** At the end of a merge run that never started: close it to merges, learn its merged callers. */
  | { type: "close_merge" }
  /** At the end, before the thread is let go: the run's input never joined the conversation. */
  | { type: "return_messages" }
  | { type: "release_thread" }
  | { type: "deliver" }
  /**
   * `external`: waiting for someone else (the caller's tool outputs), so the step must not hold the
   * run. `call`: waiting for QStash's callback with a call's answer, which wakes the run itself (no
   * step needs scheduling; `until_ms` is the latest it can come).
   */
  | { type: "wait"; until_ms: number; external?: boolean; call?: boolean }
  | { type: "done" }
  | FileAction;

export function nextAction(run: RunRecord, now: number): Action {
  return isTerminal(run.status) ? afterEnd(run, now) : whileActive(run, now);
}

const liveResponse = (run: RunRecord) =>
  run.upstream.response_id !== null && !isUpstreamTerminal(run.upstream.response_status)
    ? run.upstream.response_id
    : null;

function whileActive(run: RunRecord, now: number): Action {
  const { upstream } = run;
  if (upstream.retry_at_ms !== null && upstream.retry_at_ms > now) {
    return { type: "wait", until_ms: Math.min(upstream.retry_at_ms, run.deadline_ms) };
  }
  const live = liveResponse(run);
  if (run.status === "cancelling" && live && !upstream.cancel_sent)
    return { type: "cancel_response", response_id: live };
  if (upstream.call) return awaitCall(run, upstream.call, now);
  if (run.pending_calls.length > 0) return duringToolRound(run, now);
  // debounce_ms: the thread is not quiet yet. The step ends and the next one comes by a QStash delay.
  if (atStart(run) && run.held_taken !== true && (run.quiet_until_ms ?? 0) > now)
    return { type: "wait", until_ms: run.quiet_until_ms ?? now, external: true };
  if (atStart(run) && run.held_taken !== true) return { type: "take_held" };
  if (atStart(run) && run.quota_checked !== true) return { type: "check_quota" };
  const files = fileAction(run, now);
  if (files) return files;
  if (upstream.conversation_id === null) return { type: "create_conversation" };
  if (upstream.response_id === null)
    return { type: "create_response", request: responseRequest(run, upstream.conversation_id, run.input) };
  return { type: "observe", response_id: upstream.response_id, cursor: upstream.stream_cursor };
}

/** The input of the run's current round: its messages, or the outputs of its tool round's calls. */
function roundInput(run: RunRecord): ResponseInput {
  if (run.pending_calls.length === 0) return run.input;
  return run.pending_calls.map((c) => ({
    type: "function_call_output" as const,
    call_id: c.call_id,
    output: c.output ?? "",
  }));
}

function duringToolRound(run: RunRecord, now: number): Action {
  if (allAnswered(run)) {
    return {
      type: "create_response",
      request: responseRequest(run, run.upstream.conversation_id ?? "", roundInput(run)),
    };
  }
  if (endpointCallsOpen(run)) {
    const open = run.pending_calls.filter((c) => c.endpoint !== null && c.output === null);
    const due = open.filter((c) => (c.retry_at_ms ?? 0) <= now);
    if (due.length > 0) return { type: "call_tools", calls: due };
    return { type: "wait", until_ms: Math.min(...open.map((c) => c.retry_at_ms ?? now)) };
  }
  if (
    callerCallsOpen(run) &&
    run.delivery.state === "pending" &&
    (run.delivery.next_attempt_at_ms ?? now) <= now
  ) {
    return { type: "deliver" };
  }
  const wakeups = [run.deadline_ms, run.action_deadline_ms ?? run.deadline_ms];
  if (run.delivery.state === "pending" && run.delivery.next_attempt_at_ms !== null)
    wakeups.push(run.delivery.next_attempt_at_ms);
  return { type: "wait", until_ms: Math.min(...wakeups), external: true };
}

/**
 * A run is checked against its tenant's monthly token quota once, when it starts (before anything
 * upstream is made for it): runs accepted before the quota was reached may wait behind others.
 */
const atStart = (run: RunRecord) => run.upstream.response_ids.length === 0 && !run.upstream.call;

/**
 * Whether the run's input is in its conversation: upstream keeps a response's input only when the
 * response completes (or ends incomplete), so a run whose first response did not has sent nothing.
 */
export const inputJoined = (run: RunRecord) =>
  run.tool_rounds > 0 ||
  run.upstream.response_status === "completed" ||
  run.upstream.response_status === "incomplete";

/**
 * Function calls the conversation holds open when the run has ended: a round's calls are answered in
 * the conversation only when the response carrying their outputs completes, so every call of the
 * current round is open (answered by the caller or not), and so are the last round's calls when the
 * response carrying their outputs did not complete (cancelled, failed). Each with the output it had.
 */
export function openCalls(run: RunRecord): { call_id: string; output: string | null }[] {
  if (run.pending_calls.length > 0)
    return run.pending_calls.map((c) => ({ call_id: c.call_id, output: c.output }));
  const status = run.upstream.response_status;
  if (run.tool_rounds === 0 || status === "completed" || status === "incomplete") return [];
  if (run.upstream.response_id === null) return [];
  const round = run.steps.findLast((s) => s.type === "tool_calls");
  return (round?.tool_calls ?? []).map((c) => ({ call_id: c.id, output: c.output }));
}

/**
 * The thread stays with the run until its call answers: its conversation is busy until then. The
 * answer comes as QStash's callback, which wakes the run; a step that finds the run still waiting
 * (the reconciler's, a cancel's: the callback may have been dead-lettered) reads the conversation
 * for the round's response first, at most every CALL_LOOK_MIN_MS.
 */
function awaitCall(run: RunRecord, call: NonNullable<RunRecord["upstream"]["call"]>, now: number): Action {
  const conversation = run.upstream.conversation_id;
  if (conversation && now - (call.looked_at_ms ?? call.sent_at_ms) >= CALL_LOOK_MIN_MS)
    return {
      type: "find_call_answer",
      conversation_id: conversation,
      request: responseRequest(run, conversation, roundInput(run)),
      given_up: now >= call.until_ms + CALL_ANSWER_GRACE_MS,
    };
  return { type: "wait", until_ms: call.until_ms, external: true, call: true };
}

function afterEnd(run: RunRecord, now: number): Action {
  const { upstream, delivery } = run;
  const live = liveResponse(run);
  if (live && !upstream.cancel_sent) return { type: "cancel_response", response_id: live };
  if (upstream.call) {
    // The caller hears of the end now; the thread waits for the call's answer (late function calls
    // are closed then, see run.ts `leftOpen`).
    const due = delivery.state === "pending" && (delivery.next_attempt_at_ms ?? now) <= now;
    return due ? { type: "deliver" } : awaitCall(run, upstream.call, now);
  }
  const open = run.calls_closed ? [] : openCalls(run);
  if (open.length > 0 && upstream.conversation_id) {
    return {
      type: "close_calls",
      conversation_id: upstream.conversation_id,
      call_ids: open.map((c) => c.call_id),
      outputs: open.map((c) => c.output),
    };
  }
  if (run.merge === true && run.held_taken !== true && !run.fanout) return { type: "close_merge" };
  if (run.messages_returned !== true && !inputJoined(run)) return { type: "return_messages" };
  if (!run.thread_released) return { type: "release_thread" };
  if (delivery.state === "pending") {
    const due = delivery.next_attempt_at_ms ?? now;
    return due <= now ? { type: "deliver" } : { type: "wait", until_ms: due };
  }
  return { type: "done" };
}

export function responseRequest(run: RunRecord, conversation: string, input: ResponseInput): ResponseRequest {
  const p = run.params;
  return {
    model: p.model,
    instructions: p.instructions,
    input,
    conversation,
    tools: p.tools,
    tool_choice: p.tool_choice,
    parallel_tool_calls: p.parallel_tool_calls,
    response_format: p.response_format,
    temperature: p.temperature,
    top_p: p.top_p,
    max_output_tokens: p.max_output_tokens,
    reasoning_effort: p.reasoning_effort ?? null,
    // Both Assistants strategies (`auto`, `last_messages`) send `auto`: the Responses API has no
    // last-N window (docs/assistants-compatibility.md).
    truncation: "auto",
    ...(p.tool_resources ? { tool_resources: p.tool_resources } : {}),
    metadata: {
      [RESPONSE_METADATA.tenant]: run.tenant,
      [RESPONSE_METADATA.run]: run.id,
      [RESPONSE_METADATA.round]: String(run.tool_rounds),
      [RESPONSE_METADATA.create]: createKey(run),
    },
  };
}
