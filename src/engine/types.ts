/**
 * The run record and the vocabulary of the engine. Plain JSON-serialisable data: the record is
 * stored as-is in Redis and served (reshaped) by both front doors.
 */

/** The progress events a message or an assistant may ask for, in the order a run produces them. */
export const PROGRESS_EVENTS = ["run.in_progress", "run.step.completed", "message.delta"] as const;
export type ProgressEventType = (typeof PROGRESS_EVENTS)[number];

/** A run's progress state (absent or `events: []`: the run announces only what every run does). */
export interface RunProgress {
  events: ProgressEventType[];
  /** The least time between two `message.delta` events of the run (MESSAGE_DELTA_INTERVAL_MS). */
  interval_ms: number;
  /** The text the current response has written so far, and which response that is. */
  text: string;
  text_of: string | null;
  /** `message.delta` events made so far (names the next one), and when the last was made. */
  deltas: number;
  delta_at_ms: number | null;
  /** The text the last `message.delta` carried (a final one is made only when the answer differs). */
  delta_text: string;
}

export type RunStatus =
  | "queued"
  | "in_progress"
  | "requires_action"
  | "cancelling"
  | "cancelled"
  | "failed"
  | "completed"
  | "incomplete"
  | "expired";

const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set([
  "cancelled",
  "failed",
  "completed",
  "incomplete",
  "expired",
]);
export const isTerminal = (s: RunStatus) => TERMINAL_STATUSES.has(s);

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Annotation {
  type: "file_citation" | "file_path";
  text: string;
  start_index: number;
  end_index: number;
  file_citation?: { file_id: string };
  file_path?: { file_id: string };
  /** Internal: a code interpreter container's file, until the run copies it out (engine/files.ts). */
  container_id?: string;
}

export interface TextPart {
  type: "text";
  text: { value: string; annotations: Annotation[] };
}

/** An image a run's code interpreter made, as a message content part (Assistants `image_file`). */
export interface ImageFileContent {
  type: "image_file";
  image_file: { file_id: string };
}

/** What an answer holds: text (with annotations), and images the code interpreter made. */
export type OutputPart = TextPart | ImageFileContent;

export interface ToolEndpoint {
  url: string;
  headers: Record<string, string>;
  timeout_ms: number;
}

export type ToolDef =
  | {
      type: "function";
      function: {
        name: string;
        description?: string;
        parameters?: Record<string, unknown>;
        strict?: boolean | null;
      };
      /** threadhook: where the function lives. Without it the caller runs the function. */
      endpoint?: ToolEndpoint;
    }
  | { type: "file_search"; file_search?: { vector_store_ids?: string[]; max_num_results?: number } }
  | { type: "code_interpreter" };

export type ToolChoice =
  | "none"
  | "auto"
  | "required"
  | { type: "function"; function: { name: string } }
  | { type: "file_search" | "code_interpreter" };

export type ResponseFormat =
  | "auto"
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      json_schema: {
        name: string;
        schema?: Record<string, unknown>;
        strict?: boolean | null;
        description?: string;
      };
    };

export interface RunParams {
  model: string;
  instructions: string | null;
  temperature: number | null;
  top_p: number | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  tools: ToolDef[];
  tool_choice: ToolChoice;
  parallel_tool_calls: boolean;
  response_format: ResponseFormat;
  /** What a tool endpoint that keeps failing does: the model gets an error output, or the run fails. */
  tool_errors: "continue" | "fail";
  max_tool_rounds: number;
  /** Seconds a run may wait in requires_action. */
  requires_action_timeout_s: number;
  /** Assistants fields kept as given (shown on the run; the Responses API has no exact equivalent). */
  max_prompt_tokens: number | null;
  truncation_strategy: { type: "auto" | "last_messages"; last_messages: number | null };
  /** Reasoning effort for reasoning models (Responses `reasoning.effort`). */
  reasoning_effort: string | null;
  /** What the hosted tools work on: vector stores for file_search, files for the code interpreter. */
  tool_resources?: RunToolResources;
}

export interface RunToolResources {
  vector_store_ids: string[];
  code_interpreter_file_ids: string[];
}

/** A function call of the current tool round. */
export interface PendingCall {
  call_id: string;
  name: string;
  arguments: string;
  /** Set for endpoint tools; null means the caller answers it. */
  endpoint: ToolEndpoint | null;
  output: string | null;
  attempts: number;
  retry_at_ms: number | null;
  last_error: string | null;
}

export interface RunStep {
  id: string;
  type: "tool_calls" | "message_creation";
  status: "in_progress" | "completed" | "cancelled" | "failed" | "expired";
  created_at_ms: number;
  completed_at_ms: number | null;
  /** For tool_calls steps. */
  tool_calls?: { id: string; name: string; arguments: string; output: string | null }[];
  /** For message_creation steps: the id of the message item upstream. */
  message_id?: string;
  usage: Usage | null;
}

/** A content part of a model input message (the Responses shapes). */
export type InputPart =
  | { type: "input_text"; text: string }
  | { type: "input_image"; image_url?: string; file_id?: string; detail: "auto" | "low" | "high" };

/** A message given to the model as input (Assistants threads may hold user and assistant turns). */
export interface InputMessage {
  role: "user" | "assistant";
  content: string | InputPart[];
}

export type RunInput = string | InputMessage[];

export interface TimelineEntry {
  status: RunStatus;
  at_ms: number;
  cause: string;
}

export interface DeliveryAttempt {
  at_ms: number;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

export type DeliveryState = "none" | "pending" | "delivered" | "failed";

export interface Delivery {
  state: DeliveryState;
  /** How many events this run has produced (run.requires_action rounds plus the final one). */
  events: number;
  event_id: string | null;
  event_type: string | null;
  attempts: DeliveryAttempt[];
  /** Index in `attempts` where the current delivery cycle began (a redeliver starts a new one). */
  cycle_start: number;
  next_attempt_at_ms: number | null;
}

export interface LastError {
  code: string;
  message: string;
}

/** A callback URL the run's events are POSTed to, signed (delivery/send.ts). */
export interface UrlCallback {
  url: string;
  headers: Record<string, string>;
  kind?: undefined;
}

/**
 * The run was started by an integration (a Slack or Discord bot): its events go to the adapter of
 * the integration's type, which posts the answer to the platform. `reply` says where (the platform's
 * own coordinates: a channel and thread, a response URL, an interaction token), written by the
 * adapter that started the run and read only by it.
 */
export interface IntegrationCallback {
  kind: "integration";
  integration_id: string;
  type: string;
  reply: Record<string, string>;
}

export type RunCallback = UrlCallback | IntegrationCallback;

export const isIntegrationCallback = (c: RunCallback | null): c is IntegrationCallback =>
  c?.kind === "integration";

/** A run as stored. Times ending in `_ms` are epoch milliseconds; the API shows seconds. */
export interface RunRecord {
  id: string;
  tenant: string;
  thread_id: string;
  conversation_key: string | null;
  assistant_id: string;
  status: RunStatus;
  created_at_ms: number;
  started_at_ms: number | null;
  ended_at_ms: number | null;
  deadline_ms: number;
  params: RunParams;
  /** What starts this run: the user text, or the messages held on the thread since the last run. */
  input: RunInput;
  /** Tool rounds completed, the calls of the current round, and when requires_action expires. */
  tool_rounds: number;
  pending_calls: PendingCall[];
  action_deadline_ms: number | null;
  /** Unanswered calls were closed in the conversation (so the thread stays usable). */
  calls_closed: boolean;
  /** The tenant's monthly token quota was checked when the run started (absent: not yet). */
  quota_checked?: boolean;
  /** Messages held on the thread (given back by an earlier run) joined the input at the start. */
  held_taken?: boolean;
  /** The run ended before its input joined the conversation and gave its messages back. */
  messages_returned?: boolean;
  steps: RunStep[];
  /** Parsed JSON output for json_object / json_schema formats (or why it did not parse). */
  output_json: { value: unknown } | { error: string } | null;
  /** Where the run's events go: a callback URL, an integration's adapter (src/integrations/), or nowhere. */
  callback: RunCallback | null;
  upstream: {
    conversation_id: string | null;
    response_id: string | null;
    response_ids: string[];
    /** Last observed status of the current response (null before the first observation). */
    response_status: string | null;
    /** SSE cursor of the current response, for resuming its stream in the next step. */
    stream_cursor: number | null;
    /** When the current response was created (ms), for adaptive polling. */
    response_started_at_ms: number | null;
    cancel_sent: boolean;
    /** Consecutive upstream failures, for backoff, and when to try again. */
    failures: number;
    retry_at_ms: number | null;
    /**
     * The round's create handed to QStash (the `call` strategy): QStash makes the request and calls
     * back with its answer. `key` names the attempt (see engine/call.ts); `until_ms`: the latest the
     * callback can come (QStash's timeout for the call). Absent or null: no call in flight.
     */
    call?: {
      key: string;
      sent_at_ms: number;
      until_ms: number;
      /** When a step last read the conversation for the call's answer (engine/next.ts `awaitCall`). */
      looked_at_ms?: number;
    } | null;
    /**
     * A create was started for round `key` and its answer has not been seen yet (saved before the
     * create is sent). While set, the create's outcome is unknown: a response may exist upstream
     * that threadhook has no id for, so the round is never created blindly again (see next.ts).
     * The key travels in the response's metadata (`threadhook_create`). Absent or null: none.
     * `unknown`: an attempt's outcome was unknown (no answer seen), so a later attempt refused
     * outright (429, a 4xx) does not clear it: that attempt made nothing, the earlier one may have.
     */
    creating?: { key: string; at_ms: number; unknown?: boolean } | null;
    /**
     * The `call` strategy's attempt within the round (the last part of its key, engine/call.ts):
     * raised only when a call of the round was answered without a response (an error OpenAI gave),
     * never by other failures (a failed look, a failed conversation create), so a step that publishes
     * the round's call again while the first is still out builds the same key and QStash drops the
     * copy. Absent in records from before it: `failures` stood for it.
     */
    call_attempt?: number;
    /** Responses of this run whose tokens were counted outside the round that owns them (strays). */
    counted_ids?: string[];
    /** The create keys (`threadhook_create`) of those strays: a later adoption of one adds no estimate. */
    counted_keys?: string[];
    /**
     * Responses adopted from the conversation's items, whose usage is an estimate (engine/lost-create.ts
     * `estimatedUsage`), by create key; a stray with the real usage takes an estimate's place.
     */
    estimated?: { key: string; input_tokens: number; output_tokens: number }[];
    /**
     * Create keys of responses that may exist upstream but were never seen, so their tokens are
     * unknown: a `call` QStash got no answer for (engine/run.ts `unseenResponses`).
     */
    unseen?: string[];
    /**
     * The run made its conversation (the thread had none): nothing an earlier run did is in it, so
     * its first create skips the look for calls left open (engine/lost-create.ts `looksBeforeCreate`).
     */
    conversation_made?: boolean;
  };
  /** Set by the cancel endpoint; the engine acts on it. */
  cancel_requested: boolean;
  /**
   * Why the cancel was asked for, from the run hash's cancel flag (engine/busy.ts `cancelFlag`):
   * "superseded" (a newer message's `latest` / `interrupt` dropped this queued run) and the run
   * that answers its messages instead. Absent: a plain cancel.
   */
  cancel_reason?: { reason: string; by: string | null } | null;
  /**
   * Busy-thread policy (engine/busy.ts): `debounce_ms` > 0 makes the run wait at its start until
   * its thread has been quiet that long; `quiet_until_ms` is when it looks again (set by the intake
   * script's answer through take_held, never by the caller).
   */
  debounce_ms?: number;
  quiet_until_ms?: number | null;
  /** Created under `on_busy: merge`: others' messages may join it until it starts (or ends). */
  merge?: boolean;
  /**
   * Extra callback targets (`on_busy: merge`): callers whose messages merged into this run. Each
   * gets the run's callbacks once, each event under its own id (`${event_id}_m${i + 1}`); `sent`
   * lists the event ids already delivered to the extra targets (steps/actions.ts deliver).
   */
  fanout?: { targets: { url: string; headers: Record<string, string> }[]; sent: string[] } | null;
  output: { text: string; content: OutputPart[] } | null;
  usage: Usage;
  last_error: LastError | null;
  incomplete_details: { reason: string } | null;
  /** A delayed or scheduled run: when it was due to start (ms). */
  scheduled_for_ms?: number;
  timeline: TimelineEntry[];
  /** Thread released and its next queued run started. */
  thread_released: boolean;
  delivery: Delivery;
  /** Attachments to prepare before the first response, code interpreter files to collect after the last. */
  files?: RunFiles | null;
  /** The progress events the run asked for, and the text written so far (engine/progress.ts). */
  progress?: RunProgress | null;
}

/** A file a caller attached by URL (webhook API): fetched and uploaded before the run starts. */
export interface UrlAttachment {
  url: string;
  filename: string | null;
  tools: ("file_search" | "code_interpreter")[];
  /** Set once fetched and uploaded. */
  file_id: string | null;
}

/** A file the run's code interpreter made, copied out of its container into the tenant's files. */
export interface GeneratedFile {
  file_id: string;
  filename: string;
  mime_type: string;
  bytes: number;
  container_id: string;
  container_file_id: string;
}

export interface RunFiles {
  /** Work before the first response (null: none, or done). */
  prep: {
    urls: UrlAttachment[];
    /** Files of this run's messages to add to the thread's vector store. */
    search_file_ids: string[];
    /** Stores whose ingestion the run waits for before it starts. */
    wait_store_ids: string[];
    /** When to look at the stores again. */
    check_at_ms: number | null;
  } | null;
  /** The finished answer, held while its containers' files are copied out (null: none). */
  collect: { containers: string[]; message_id: string | null; content: TextPart[] } | null;
  generated: GeneratedFile[];
  /** Containers the code interpreter used in earlier tool rounds (their files are collected at the end too). */
  containers?: string[];
}
