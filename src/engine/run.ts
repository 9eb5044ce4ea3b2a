/**
 * The run state machine: pure functions from (record, event, now) to a new record. No I/O, no
 * clock reads. `nextAction` (engine/next.ts) says what the step runner should do next.
 */
import { keepLastAttempts } from "./bounds";
import { callAttempt, createKey } from "./call";
import { UPSTREAM_BACKOFF_BASE_MS, UPSTREAM_BACKOFF_MAX_MS, UPSTREAM_MAX_FAILURES } from "./constants";
import { queueEvent } from "./events";
import {
  attachmentReady,
  collected,
  containersToCollect,
  noteContainers,
  searchFilesAdded,
  startCollect,
  storesChecked,
  withThreadResources,
} from "./files";
import {
  applyCallerOutputs,
  applyToolResults,
  closeRound,
  endSteps,
  maybeRequireAction,
  messageStep,
  startToolRound,
  type ToolResult,
} from "./tools";
import {
  type GeneratedFile,
  type InputMessage,
  isTerminal,
  type RunInput,
  type LastError,
  type OutputPart,
  type RunRecord,
  type RunStatus,
} from "./types";
import { isUpstreamTerminal, type ObservedResponse } from "./upstream-types";

export type RunEvent =
  | { type: "tick" }
  /** `made`: this run created the conversation (the thread had none). */
  | { type: "conversation_ready"; conversation_id: string; made?: boolean }
  | { type: "response_created"; response: ObservedResponse }
  | { type: "response_observed"; response: ObservedResponse; cursor?: number | null }
  /**
   * `outcome_unknown`: the failed call was a create that may have made a response anyway (no answer
   * seen: connection lost, timeout, 5xx), so the round's create intent stays (see `creating`).
   */
  | {
      type: "upstream_failed";
      retryable: boolean;
      error: LastError;
      retry_after_ms: number | null;
      outcome_unknown?: boolean;
      /** The failure is a QStash call's answer (steps/called.ts), whether or not the call was saved. */
      via_call?: boolean;
    }
  /** A create for round `key` is about to be sent (saved first: its outcome may be lost). */
  | { type: "create_started"; key: string }
  /** A response of this run that is not the round's current one ended: its tokens count too. */
  | { type: "stray_response"; response: ObservedResponse }
  | { type: "cancel_sent" }
  | { type: "tool_results"; results: ToolResult[] }
  | { type: "tool_outputs_submitted"; outputs: { tool_call_id: string; output: string }[] }
  | { type: "calls_closed" }
  /** Messages held on the thread when the run started (an earlier run gave them back). */
  | {
      type: "held_taken";
      messages: InputMessage[];
      /** Messages merged into this queued run (`on_busy: merge`), after its own, and their callers' callbacks. */
      merged?: InputMessage[];
      fanout?: { url: string; headers: Record<string, string> }[];
    }
  /** A merge run that ended before it started: no more merges; its merged callers hear of the end. */
  | { type: "merge_closed"; fanout: { url: string; headers: Record<string, string> }[] }
  /** The run's thread is not quiet yet (`debounce_ms`): look again at `until_ms`. */
  | { type: "not_quiet"; until_ms: number }
  /** Callback events delivered to the merged callers' targets (ids as in RunRecord.fanout). */
  | { type: "fanout_sent"; event_ids: string[] }
  | { type: "messages_returned" }
  /** The tenant's monthly token quota at the run's start: `limit` when it is used up, else null. */
  | { type: "quota_checked"; exceeded_limit: number | null }
  | { type: "thread_released" }
  | {
      type: "delivery_attempted";
      ok: boolean;
      status: number | null;
      error: string | null;
      duration_ms: number;
      /** When not ok: delay before the next attempt, or null when attempts are exhausted. */
      retry_in_ms: number | null;
    }
  | { type: "redeliver" }
  /** The run's event waits for the progress events before it (its outbox): look again at `until_ms`. */
  | { type: "delivery_deferred"; until_ms: number }
  /**
   * A run that was never accepted (a delayed start or a schedule's firing refused for good: the
   * assistant is gone, a quota is used up): it ends `failed` with why, holding no thread and
   * having sent nothing, so only its callback is left to do.
   */
  | { type: "refused"; error: LastError }
  // Files (engine/files.ts): resources the thread adds, attachments prepared, generated files collected.
  | { type: "thread_resources"; thread: { tool_resources?: unknown; files_store?: string | null } }
  | { type: "attachment_ready"; index: number; file_id: string }
  | { type: "attachments_unavailable"; message: string }
  | { type: "search_files_added"; vector_store_id: string }
  | { type: "stores_checked"; ready: boolean }
  | { type: "files_collected"; files: GeneratedFile[] }
  /** The round's create was handed to QStash (the `call` strategy). */
  | { type: "call_sent"; key: string; until_ms: number }
  /** QStash's call got no answer (connection lost, timed out): whether a response exists is unknown. */
  | { type: "call_lost"; error: LastError }
  /** The conversation was read for a call's answer (its callback may be lost) and it was not there yet. */
  | { type: "call_looked" };

const STEP_END: Partial<Record<RunStatus, "completed" | "cancelled" | "failed" | "expired">> = {
  completed: "completed",
  cancelled: "cancelled",
  failed: "failed",
  expired: "expired",
  incomplete: "failed",
};

export function setStatus(run: RunRecord, status: RunStatus, now: number, cause: string): RunRecord {
  if (run.status === status) return run;
  const next: RunRecord = {
    ...run,
    status,
    started_at_ms: run.started_at_ms ?? (status === "in_progress" ? now : null),
    timeline: [...run.timeline, { status, at_ms: now, cause }],
  };
  if (!isTerminal(status)) return next;
  const ended = endSteps(
    { ...next, ended_at_ms: now, action_deadline_ms: null },
    STEP_END[status] ?? "failed",
    now,
  );
  return queueEvent(ended, `run.${status}`, now);
}

/**
 * A line in the run's timeline that explains a delay without changing the status (e.g. QStash
 * refused the next step). Repeats of the last cause are not added again.
 */
export function withNote(run: RunRecord, now: number, cause: string): RunRecord {
  if (run.timeline.at(-1)?.cause === cause) return run;
  return { ...run, timeline: [...run.timeline, { status: run.status, at_ms: now, cause }] };
}

export function transition(run: RunRecord, event: RunEvent, now: number): RunRecord {
  switch (event.type) {
    case "tick":
      return onTick(run, now);
    case "conversation_ready":
      return {
        ...run,
        upstream: {
          ...run.upstream,
          conversation_id: event.conversation_id,
          ...(event.made ? { conversation_made: true } : {}),
        },
      };
    case "response_created":
      return onResponse(withNewResponse(run, event.response, now), event.response, now, null);
    case "response_observed":
      return onResponse(run, event.response, now, event.cursor ?? null);
    case "upstream_failed":
      return onUpstreamFailure(run, event, now);
    case "create_started": {
      // A second attempt keeps the first attempt's time: how long the round's outcome is unknown.
      // It keeps, too, whether an earlier attempt's outcome was unknown.
      const same = run.upstream.creating?.key === event.key ? run.upstream.creating : null;
      const creating = {
        key: event.key,
        at_ms: same ? same.at_ms : now,
        ...(same?.unknown ? { unknown: true } : {}),
      };
      return { ...run, upstream: { ...run.upstream, creating } };
    }
    case "stray_response":
      return onStray(run, event.response);
    case "cancel_sent":
      return { ...run, upstream: { ...run.upstream, cancel_sent: true } };
    case "tool_results": {
      if (isTerminal(run.status)) return run;
      const { run: next, fatal } = applyToolResults(run, event.results, now);
      if (fatal) return fail(next, { code: "tool_error", message: fatal }, now);
      return maybeRequireAction(next, now, (r) =>
        setStatus(r, "requires_action", now, "waiting for tool outputs"),
      );
    }
    case "tool_outputs_submitted":
      if (run.status !== "requires_action") return run;
      return setStatus(applyCallerOutputs(run, event.outputs, now), "queued", now, "tool outputs submitted");
    case "calls_closed":
      return { ...run, calls_closed: true };
    case "held_taken":
      return run.held_taken === true ? run : heldTaken(run, event);
    case "merge_closed":
      return run.fanout ? run : { ...run, fanout: { targets: event.fanout, sent: [] } };
    case "not_quiet":
      return run.held_taken === true ? run : { ...run, quiet_until_ms: event.until_ms };
    case "fanout_sent":
      return run.fanout
        ? { ...run, fanout: { ...run.fanout, sent: [...new Set([...run.fanout.sent, ...event.event_ids])] } }
        : run;
    case "messages_returned":
      return { ...run, messages_returned: true };
    case "quota_checked": {
      const checked = { ...run, quota_checked: true };
      if (isTerminal(run.status) || event.exceeded_limit === null) return checked;
      return fail(checked, quotaExceeded(event.exceeded_limit), now);
    }
    case "thread_released":
      return { ...run, thread_released: true };
    case "delivery_attempted":
      return onDeliveryAttempt(run, event, now);
    case "thread_resources":
      return isTerminal(run.status) ? run : withThreadResources(run, event.thread);
    case "attachment_ready":
      return attachmentReady(run, event.index, event.file_id);
    case "attachments_unavailable":
      return isTerminal(run.status)
        ? run
        : fail(
            { ...run, files: run.files ? { ...run.files, prep: null } : null },
            {
              code: "attachment_unavailable",
              message: event.message,
            },
            now,
          );
    case "search_files_added":
      return searchFilesAdded(run, event.vector_store_id);
    case "stores_checked":
      return storesChecked(run, event.ready, now);
    case "files_collected": {
      const held = run.files?.collect;
      if (!held || isTerminal(run.status)) return run;
      const done = collected(run, event.files);
      const response = { ...HELD_RESPONSE, id: run.upstream.response_id ?? "", message_id: held.message_id };
      return complete(done.run, { ...response, content: held.content }, now, done.parts);
    }
    case "call_sent": {
      const call = { key: event.key, sent_at_ms: now, until_ms: event.until_ms };
      // The call in flight stands for the round's create from here on (its callback answers it),
      // unless an earlier attempt's outcome was unknown: then the intent stays, so a call answered
      // conversation_locked waits and the attempt after a refused call looks before creating.
      const creating = run.upstream.creating?.unknown ? run.upstream.creating : null;
      const sent = { ...run, upstream: { ...run.upstream, call, creating } };
      // The model is being called: nothing more will be seen of it until it has answered.
      return sent.status === "queued" ? setStatus(sent, "in_progress", now, "model called") : sent;
    }
    case "call_lost":
      return onCallLost(run, event.error, now);
    case "call_looked":
      return run.upstream.call
        ? { ...run, upstream: { ...run.upstream, call: { ...run.upstream.call, looked_at_ms: now } } }
        : run;
    case "delivery_deferred":
      return { ...run, delivery: { ...run.delivery, next_attempt_at_ms: event.until_ms } };
    case "refused":
      return isTerminal(run.status)
        ? run
        : setStatus(
            { ...run, last_error: event.error, thread_released: true, messages_returned: true },
            "failed",
            now,
            `could not start: ${event.error.code}`,
          );
    case "redeliver":
      // A redeliver is a new cycle for every target: the merged callers' too (on_busy merge), even
      // those that got the event before (within the cycle, retries go to those that did not).
      return run.delivery.event_id
        ? {
            ...run,
            ...(run.fanout ? { fanout: { ...run.fanout, sent: [] } } : {}),
            delivery: {
              ...run.delivery,
              state: "pending",
              cycle_start: run.delivery.attempts.length,
              next_attempt_at_ms: now,
            },
          }
        : run;
  }
}

/** Time-driven and request-driven changes: deadlines, cancel request. */
function onTick(run: RunRecord, now: number): RunRecord {
  if (isTerminal(run.status)) return run;
  if (now >= run.deadline_ms) return setStatus(run, "expired", now, "timeout_s reached");
  if (run.action_deadline_ms !== null && now >= run.action_deadline_ms) {
    return setStatus(run, "expired", now, "no tool outputs within the requires_action window");
  }
  if (run.cancel_requested) {
    // A call in flight cannot be stopped (its response is neither background nor known yet): the
    // run ends `cancelled` at once and keeps its thread until the call answers (see nextAction).
    const live = run.upstream.response_id !== null && !isUpstreamTerminal(run.upstream.response_status);
    const why =
      run.cancel_reason?.reason === "superseded"
        ? `superseded by ${run.cancel_reason.by}`
        : "cancel requested";
    return setStatus(run, live ? "cancelling" : "cancelled", now, why);
  }
  return run;
}

function withNewResponse(run: RunRecord, response: ObservedResponse, now: number): RunRecord {
  const upstream = {
    ...run.upstream,
    response_id: response.id,
    response_ids: [...run.upstream.response_ids, response.id],
    response_started_at_ms: now,
    response_status: null,
    stream_cursor: null,
    cancel_sent: false,
    failures: 0,
    retry_at_ms: null,
    call: null,
    creating: null,
    call_attempt: 0,
  };
  return closeRound({ ...run, upstream }, now);
}

function onResponse(
  run: RunRecord,
  response: ObservedResponse,
  now: number,
  cursor: number | null,
): RunRecord {
  if (response.id !== run.upstream.response_id) return run;
  const firstTerminal =
    isUpstreamTerminal(response.status) && !isUpstreamTerminal(run.upstream.response_status);
  let next: RunRecord = {
    ...run,
    upstream: {
      ...run.upstream,
      response_status: response.status,
      stream_cursor: cursor ?? run.upstream.stream_cursor,
      failures: 0,
      retry_at_ms: null,
    },
  };
  if (firstTerminal) next = addUsage(next, response);
  if (isTerminal(run.status)) return firstTerminal ? leftOpen(next, response) : next;
  if (firstTerminal && response.status === "completed" && overPromptLimit(next))
    return cutByPromptLimit(next, response, now);
  if (!firstTerminal && isUpstreamTerminal(response.status)) return next;
  if (next.status === "queued" && response.status !== "queued")
    next = setStatus(next, "in_progress", now, "model started");
  switch (response.status) {
    case "queued":
    case "in_progress":
      return next;
    case "completed": {
      if (response.tool_calls.length > 0)
        return onToolCalls(noteContainers(next, response.containers), response, now);
      // Files its code interpreter made are copied out before the run completes (engine/files.ts).
      const containers = containersToCollect(next, response.containers);
      if (containers.length > 0) return startCollect(next, containers, response.message_id, response.content);
      return complete(next, response, now);
    }
    case "incomplete": {
      const reason = response.incomplete_reason ?? "unknown";
      const withOutput = {
        ...messageStep(next, response, now),
        output: toOutput(response),
        incomplete_details: { reason },
      };
      return setStatus(withOutput, "incomplete", now, `incomplete: ${reason}`);
    }
    case "failed":
      return fail(
        next,
        response.error ?? { code: "server_error", message: "The model response failed." },
        now,
      );
    case "cancelled":
      // Only threadhook cancels its responses (a cancel request, or a deadline already handled).
      return setStatus(next, "cancelled", now, "cancelled upstream");
  }
}

/** The run's responses have read more prompt tokens than its `max_prompt_tokens` allows. */
const overPromptLimit = (run: RunRecord) =>
  run.params.max_prompt_tokens !== null && run.usage.prompt_tokens > run.params.max_prompt_tokens;

/**
 * The run has used up `max_prompt_tokens` (over all its responses, as the Assistants API counts
 * it): it ends `incomplete` (reason `max_prompt_tokens`) with what the last response said, and
 * starts no further tool round; calls that response made are closed at the end (leftOpen).
 */
function cutByPromptLimit(run: RunRecord, response: ObservedResponse, now: number): RunRecord {
  const withOutput = {
    ...messageStep(run, response, now),
    output: response.content.length > 0 ? toOutput(response) : null,
    incomplete_details: { reason: "max_prompt_tokens" },
  };
  const limit = run.params.max_prompt_tokens;
  const ended = setStatus(withOutput, "incomplete", now, `incomplete: max_prompt_tokens (${limit}) reached`);
  return leftOpen(ended, response);
}

/**
 * A response that ended after its run did (its answer came late: a call answering after the
 * deadline, a cancel that came too late) and asked for tools: its calls are in the conversation
 * now, unanswered, and would refuse every later response on it. They become the run's open calls,
 * which the end of the run closes.
 */
function leftOpen(run: RunRecord, response: ObservedResponse): RunRecord {
  if (response.status !== "completed" || response.tool_calls.length === 0) return run;
  const calls = response.tool_calls.map((c) => ({
    ...c,
    endpoint: null,
    output: null,
    attempts: 0,
    retry_at_ms: null,
    last_error: null,
  }));
  return { ...run, pending_calls: calls, calls_closed: false };
}

function onToolCalls(run: RunRecord, response: ObservedResponse, now: number): RunRecord {
  const { run: round, overBound } = startToolRound(run, response, now);
  if (overBound) {
    const reason = `max_tool_rounds: more than ${run.params.max_tool_rounds} tool rounds`;
    return setStatus(
      { ...round, incomplete_details: { reason: "max_tool_rounds" } },
      "incomplete",
      now,
      reason,
    );
  }
  return maybeRequireAction(round, now, (r) =>
    setStatus(r, "requires_action", now, "waiting for tool outputs"),
  );
}

function complete(run: RunRecord, response: ObservedResponse, now: number, parts?: OutputPart[]): RunRecord {
  const output = toOutput(response, parts);
  const format = run.params.response_format;
  const wantsJson =
    typeof format === "object" && (format.type === "json_object" || format.type === "json_schema");
  const withOutput = {
    ...messageStep(run, response, now),
    output,
    output_json: wantsJson ? parseOutputJson(output?.text ?? "") : null,
  };
  return setStatus(withOutput, "completed", now, "model finished");
}

function parseOutputJson(text: string): RunRecord["output_json"] {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: `output is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Messages an earlier run gave back come before the run's own input. */
function heldTaken(run: RunRecord, event: Extract<RunEvent, { type: "held_taken" }>): RunRecord {
  const merged = event.merged ?? [];
  const input = withEarlier(event.messages, run.input);
  const next: RunRecord = {
    ...run,
    held_taken: true,
    quiet_until_ms: null,
    input: merged.length > 0 ? [...asMessages(input), ...merged] : input,
  };
  return event.fanout && event.fanout.length > 0
    ? { ...next, fanout: { targets: event.fanout, sent: [] } }
    : next;
}

const asMessages = (input: RunInput): InputMessage[] =>
  typeof input === "string" ? [{ role: "user", content: input }] : input;

function withEarlier(earlier: InputMessage[], input: RunInput): RunInput {
  if (earlier.length === 0) return input;
  const own: InputMessage[] = typeof input === "string" ? [{ role: "user", content: input }] : input;
  return [...earlier, ...own];
}

/** The same words intake's 429 uses (commands/intake.ts). */
const quotaExceeded = (limit: number): LastError => ({
  code: "quota_exceeded",
  message: `The monthly quota of ${limit} tokens is used up; it renews on the 1st (UTC).`,
});

function fail(run: RunRecord, error: LastError, now: number): RunRecord {
  return setStatus({ ...run, last_error: error }, "failed", now, `failed: ${error.code}`);
}

function addUsage(run: RunRecord, response: ObservedResponse): RunRecord {
  if (!response.usage) return run;
  if (response.usage_estimated) {
    // An adopted response (engine/lost-create.ts): its estimate counts, unless its webhook already
    // brought the real usage (a stray, by create key).
    const key = response.create_key ?? "";
    if ((run.upstream.counted_keys ?? []).includes(key)) return run;
    const estimate = {
      key,
      input_tokens: response.usage.input_tokens,
      output_tokens: response.usage.output_tokens,
    };
    run = { ...run, upstream: { ...run.upstream, estimated: [...(run.upstream.estimated ?? []), estimate] } };
  }
  return {
    ...run,
    usage: {
      prompt_tokens: run.usage.prompt_tokens + response.usage.input_tokens,
      completion_tokens: run.usage.completion_tokens + response.usage.output_tokens,
      total_tokens: run.usage.total_tokens + response.usage.total_tokens,
    },
  };
}

function toOutput(response: ObservedResponse, parts?: OutputPart[]): RunRecord["output"] {
  return { text: response.content.map((p) => p.text.value).join(""), content: parts ?? response.content };
}

/** The answer held while its files were collected, as the response it came in (engine/files.ts). */
const HELD_RESPONSE: ObservedResponse = {
  id: "",
  tool_calls: [],
  message_id: null,
  status: "completed",
  content: [],
  usage: null,
  error: null,
  incomplete_reason: null,
};

function onUpstreamFailure(
  run: RunRecord,
  event: Extract<RunEvent, { type: "upstream_failed" }>,
  now: number,
): RunRecord {
  // A QStash call's answer: counted as a failure even when conversation_locked (below), so the next
  // call's key (engine/call.ts `callKey`, its deduplication id) differs and QStash sends it.
  const viaCall = Boolean(run.upstream.call);
  const answered = viaCall || event.via_call === true;
  if (run.upstream.call) run = { ...run, upstream: { ...run.upstream, call: null } };
  // A create refused outright (429, a 4xx) made no response: the round may be created again freely,
  // unless an earlier attempt's answer was lost: its response may exist (still running when this
  // attempt looked, ended by the next), so the next attempt must look again.
  const creating = run.upstream.creating;
  if (creating && event.outcome_unknown && !creating.unknown)
    run = { ...run, upstream: { ...run.upstream, creating: { ...creating, unknown: true } } };
  else if (
    creating &&
    !event.outcome_unknown &&
    !creating.unknown &&
    event.error.code !== "conversation_locked"
  )
    run = { ...run, upstream: { ...run.upstream, creating: null } };
  if (isTerminal(run.status)) return run;
  if (run.upstream.creating && event.error.code === "conversation_locked" && !viaCall) {
    // The round's earlier create, whose answer was lost, is running upstream: wait, without
    // counting a failure (the run's deadline bounds the wait).
    const wait = Math.max(event.retry_after_ms ?? 0, UPSTREAM_BACKOFF_BASE_MS * 2);
    return { ...run, upstream: { ...run.upstream, retry_at_ms: now + wait } };
  }
  const failures = run.upstream.failures + 1;
  if (!event.retryable || failures > UPSTREAM_MAX_FAILURES) return fail(run, event.error, now);
  const retry_at_ms = now + upstreamBackoffMs(failures, event.retry_after_ms);
  // Only an answered call moves the call's key on: after any other failure the round's call, if
  // one is out, is still the one to wait for, and publishing it again must be deduplicated.
  const call_attempt = callAttempt(run) + (answered ? 1 : 0);
  return { ...run, upstream: { ...run.upstream, failures, retry_at_ms, call_attempt } };
}

/**
 * A call without an answer may still have made a response (OpenAI may finish it after QStash stopped
 * waiting), so the round is not created again: before the deadline the run fails with the error; at
 * or after it, the next tick expires it as usual.
 */
function onCallLost(run: RunRecord, error: LastError, now: number): RunRecord {
  const unseen = [...(run.upstream.unseen ?? []), createKey(run)];
  const cleared = { ...run, upstream: { ...run.upstream, call: null, unseen } };
  if (isTerminal(run.status) || now >= run.deadline_ms) return cleared;
  return fail(cleared, error, now);
}

/**
 * How many responses of an ended run may exist upstream with tokens never seen: calls QStash got no
 * answer for, and a create whose outcome was still unknown when the run ended; less those a webhook
 * brought later (strays, by create key). Counted as `unknown_responses` in the month's usage.
 */
export function unseenResponses(run: RunRecord): number {
  const keys = new Set(run.upstream.unseen ?? []);
  if (isTerminal(run.status) && run.upstream.creating) keys.add(run.upstream.creating.key);
  for (const key of run.upstream.counted_keys ?? []) keys.delete(key);
  return keys.size;
}

/**
 * A response of this run that ended outside its round (a create whose answer was lost, found again
 * through OpenAI's webhook): its tokens are counted once, by id. When the round adopted it from the
 * conversation's items (same create key), its real usage takes the estimate's place.
 */
function onStray(run: RunRecord, response: ObservedResponse): RunRecord {
  const counted = run.upstream.counted_ids ?? [];
  const known = run.upstream.response_ids.includes(response.id) || counted.includes(response.id);
  if (known || !isUpstreamTerminal(response.status)) return run;
  const key = response.create_key ?? null;
  const estimated = run.upstream.estimated ?? [];
  const estimate = key === null || !response.usage ? undefined : estimated.find((e) => e.key === key);
  const upstream = {
    ...run.upstream,
    counted_ids: [...counted, response.id],
    ...(key === null ? {} : { counted_keys: [...(run.upstream.counted_keys ?? []), key] }),
    ...(estimate ? { estimated: estimated.filter((e) => e !== estimate) } : {}),
  };
  const usage = estimate
    ? {
        prompt_tokens: run.usage.prompt_tokens - estimate.input_tokens,
        completion_tokens: run.usage.completion_tokens - estimate.output_tokens,
        total_tokens: run.usage.total_tokens - estimate.input_tokens - estimate.output_tokens,
      }
    : run.usage;
  return addUsage({ ...run, upstream, usage }, { ...response, usage_estimated: false });
}

/** Delay before retrying after the n-th consecutive upstream failure. */
export function upstreamBackoffMs(failures: number, retryAfterMs: number | null): number {
  const exp = Math.min(UPSTREAM_BACKOFF_MAX_MS, UPSTREAM_BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.max(exp, retryAfterMs ?? 0);
}

function onDeliveryAttempt(
  run: RunRecord,
  event: Extract<RunEvent, { type: "delivery_attempted" }>,
  now: number,
): RunRecord {
  const kept = keepLastAttempts(
    [
      ...run.delivery.attempts,
      { at_ms: now, status: event.status, error: event.error, duration_ms: event.duration_ms },
    ],
    run.delivery.cycle_start,
  );
  const retry = !event.ok && event.retry_in_ms !== null;
  return {
    ...run,
    delivery: {
      ...run.delivery,
      ...kept,
      state: event.ok ? "delivered" : retry ? "pending" : "failed",
      next_attempt_at_ms: retry ? now + (event.retry_in_ms ?? 0) : null,
    },
  };
}

/** Delay before the next delivery attempt after `attemptsInCycle` failed ones, or null when exhausted. */
export function deliveryRetryMs(
  attemptsInCycle: number,
  maxRetries: number,
  backoffS: readonly number[],
): number | null {
  if (attemptsInCycle > maxRetries) return null;
  const s = backoffS[Math.min(attemptsInCycle - 1, backoffS.length - 1)] ?? 60;
  return s * 1000;
}
