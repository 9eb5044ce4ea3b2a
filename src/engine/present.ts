/**
 * Public shapes: a stored run as the Assistants v2 `thread.run` object plus threadhook's fields,
 * and the callback event built from it. Pure, shared by the API and delivery.
 */
import { feedEvent } from "./events";
import { maskHeaders, maskTools } from "./secrets";
import { stepCalls } from "./tools";
import { isIntegrationCallback, type RunRecord, type RunStep } from "./types";

function requiredAction(run: RunRecord) {
  if (run.status !== "requires_action") return null;
  const open = run.pending_calls.filter((c) => c.endpoint === null && c.output === null);
  return {
    type: "submit_tool_outputs" as const,
    submit_tool_outputs: {
      tool_calls: open.map((c) => ({
        id: c.call_id,
        type: "function" as const,
        function: { name: c.name, arguments: c.arguments },
      })),
    },
  };
}

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function presentRun(run: RunRecord) {
  const ended = run.ended_at_ms;
  const at = (status: string) => (run.status === status ? seconds(ended) : null);
  const terminal = ended !== null;
  return {
    id: run.id,
    object: "thread.run" as const,
    created_at: seconds(run.created_at_ms) as number,
    thread_id: run.thread_id,
    assistant_id: run.assistant_id,
    status: run.status,
    required_action: requiredAction(run),
    last_error: run.last_error,
    expires_at: terminal
      ? null
      : seconds(Math.min(run.deadline_ms, run.action_deadline_ms ?? run.deadline_ms)),
    started_at: seconds(run.started_at_ms),
    cancelled_at: at("cancelled"),
    failed_at: at("failed"),
    completed_at: at("completed"),
    incomplete_details: run.incomplete_details,
    model: run.params.model,
    instructions: run.params.instructions ?? "",
    tools: maskTools(run.params.tools),
    metadata: run.params.metadata,
    usage: terminal ? run.usage : null,
    temperature: run.params.temperature,
    top_p: run.params.top_p,
    max_prompt_tokens: run.params.max_prompt_tokens ?? null,
    max_completion_tokens: run.params.max_output_tokens,
    truncation_strategy: run.params.truncation_strategy ?? { type: "auto", last_messages: null },
    reasoning_effort: run.params.reasoning_effort ?? null,
    tool_choice: run.params.tool_choice,
    parallel_tool_calls: run.params.parallel_tool_calls,
    response_format: run.params.response_format,
    // threadhook's additions
    conversation: run.conversation_key,
    output: run.output,
    // Files the run's code interpreter made (a callback adds a signed `download_url` to each).
    ...(run.files?.generated.length
      ? {
          files: run.files.generated.map((f) => ({
            file_id: f.file_id,
            filename: f.filename,
            mime_type: f.mime_type,
            bytes: f.bytes,
          })),
        }
      : {}),
    ...(run.output_json ? { output_json: run.output_json } : {}),
    ...(run.scheduled_for_ms !== undefined
      ? { scheduled_for: new Date(run.scheduled_for_ms).toISOString() }
      : {}),
    timeline: run.timeline.map((t) => ({
      status: t.status,
      at: new Date(t.at_ms).toISOString(),
      cause: t.cause,
    })),
    delivery: run.callback
      ? {
          state: run.delivery.state,
          event_id: run.delivery.event_id,
          // An integration's run: its events go to the platform (the reply coordinates stay inside).
          ...(isIntegrationCallback(run.callback)
            ? { callback_url: null, integration_id: run.callback.integration_id }
            : { callback_url: run.callback.url, callback_headers: maskHeaders(run.callback.headers) }),
          attempts: run.delivery.attempts.map((a) => ({ ...a, at: new Date(a.at_ms).toISOString() })),
          next_attempt_at: run.delivery.next_attempt_at_ms
            ? new Date(run.delivery.next_attempt_at_ms).toISOString()
            : null,
        }
      : null,
  };
}

export type PublicRun = ReturnType<typeof presentRun>;

/**
 * Why a run ended `incomplete`, in the Assistants API's words where it has them: its run object
 * knew only `max_completion_tokens` and `max_prompt_tokens`. threadhook's own reasons
 * (`max_tool_rounds`, `content_filter`) have no Assistants equivalent and are shown as they are.
 */
const ASSISTANTS_REASON: Record<string, string> = { max_output_tokens: "max_completion_tokens" };

/** A run as the Assistants front door shows it (the webhook API keeps `presentRun`'s shape). */
export function presentAssistantsRun(run: RunRecord) {
  const reason = run.incomplete_details?.reason;
  return {
    ...presentRun(run),
    incomplete_details: reason === undefined ? null : { reason: ASSISTANTS_REASON[reason] ?? reason },
  };
}

export interface CallbackEvent {
  id: string;
  type: string;
  created_at: number;
  data: { run: PublicRun };
}

export function buildEvent(run: RunRecord): CallbackEvent {
  const { event_id, event_type } = run.delivery;
  if (!event_id || !event_type) throw new Error(`run ${run.id} has no event to deliver`);
  return {
    id: event_id,
    type: event_type,
    created_at: seconds(run.ended_at_ms ?? run.created_at_ms) as number,
    data: { run: presentRun(run) },
  };
}

/**
 * The event of the run's feed for its current state (engine/events.ts `feedEvent`), or null: the
 * callback's event object (without the callbacks' signed file links, which expire).
 */
export function buildFeedEvent(run: RunRecord): CallbackEvent | null {
  const e = feedEvent(run);
  if (!e) return null;
  return { id: e.id, type: e.type, created_at: seconds(e.at_ms) as number, data: { run: presentRun(run) } };
}

/** A run step as the Assistants API's `thread.run.step` object. */
export function presentStep(run: RunRecord, step: RunStep) {
  const end = (status: string) => (step.status === status ? seconds(step.completed_at_ms) : null);
  return {
    id: step.id,
    object: "thread.run.step" as const,
    created_at: seconds(step.created_at_ms) as number,
    assistant_id: run.assistant_id,
    thread_id: run.thread_id,
    run_id: run.id,
    type: step.type,
    status: step.status,
    step_details:
      step.type === "message_creation"
        ? { type: "message_creation" as const, message_creation: { message_id: step.message_id ?? null } }
        : {
            type: "tool_calls" as const,
            tool_calls: stepCalls(run, step).map((t) => ({
              id: t.id,
              type: "function" as const,
              function: { name: t.name, arguments: t.arguments, output: t.output },
            })),
          },
    last_error: step.status === "failed" ? run.last_error : null,
    expired_at: end("expired"),
    cancelled_at: end("cancelled"),
    failed_at: end("failed"),
    completed_at: end("completed"),
    metadata: {},
    // Null only while the step runs (as the original's); a finished step always has its tokens.
    usage: step.status === "in_progress" ? null : (step.usage ?? NO_USAGE),
  };
}

const NO_USAGE = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
