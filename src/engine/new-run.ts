import type { RunProgress } from "./progress";
import type {
  ResponseFormat,
  RunFiles,
  RunInput,
  RunParams,
  RunRecord,
  RunToolResources,
  ToolChoice,
  ToolDef,
} from "./types";

export interface NewRunInput {
  id: string;
  tenant: string;
  threadId: string;
  conversationKey: string | null;
  assistant: {
    id: string;
    model: string;
    instructions: string | null;
    temperature: number | null;
    top_p: number | null;
    tools: ToolDef[];
    response_format: ResponseFormat;
    tool_errors?: "continue" | "fail" | undefined;
    reasoning_effort?: string | null | undefined;
  };
  overrides: {
    model?: string | undefined;
    instructions?: string | undefined;
    additional_instructions?: string | undefined;
    temperature?: number | undefined;
    top_p?: number | undefined;
    max_output_tokens?: number | undefined;
    metadata?: Record<string, string> | undefined;
    tools?: ToolDef[] | undefined;
    tool_choice?: ToolChoice | undefined;
    parallel_tool_calls?: boolean | undefined;
    response_format?: ResponseFormat | undefined;
    max_prompt_tokens?: number | null | undefined;
    truncation_strategy?: RunParams["truncation_strategy"] | undefined;
    reasoning_effort?: string | null | undefined;
  };
  limits: { maxToolRounds: number; requiresActionTimeoutS: number };
  input: RunInput;
  callback: RunRecord["callback"];
  timeoutS: number;
  now: number;
  /** Hosted-tool resources and attachments (engine/files.ts `runFilesFor`); its tools win. */
  files?: { toolResources: RunToolResources; files: RunFiles | null; tools: ToolDef[] } | undefined;
  /** The progress events the run asked for (engine/progress.ts `newProgress`), or null. */
  progress?: RunProgress | null | undefined;
}

/** A fresh `queued` run: the assistant's settings with the run's overrides applied. */
export function createRunRecord(i: NewRunInput): RunRecord {
  const o = i.overrides;
  const base = o.instructions ?? i.assistant.instructions;
  const instructions =
    [base, o.additional_instructions].filter((s): s is string => Boolean(s)).join("\n\n") || null;
  const params: RunParams = {
    model: o.model ?? i.assistant.model,
    instructions,
    temperature: o.temperature ?? i.assistant.temperature,
    top_p: o.top_p ?? i.assistant.top_p,
    max_output_tokens: o.max_output_tokens ?? null,
    metadata: o.metadata ?? {},
    tools: i.files?.tools ?? o.tools ?? i.assistant.tools,
    tool_choice: o.tool_choice ?? "auto",
    parallel_tool_calls: o.parallel_tool_calls ?? true,
    response_format: o.response_format ?? i.assistant.response_format,
    tool_errors: i.assistant.tool_errors ?? "continue",
    max_tool_rounds: i.limits.maxToolRounds,
    requires_action_timeout_s: i.limits.requiresActionTimeoutS,
    max_prompt_tokens: o.max_prompt_tokens ?? null,
    truncation_strategy: o.truncation_strategy ?? { type: "auto", last_messages: null },
    reasoning_effort: o.reasoning_effort ?? i.assistant.reasoning_effort ?? null,
    ...(i.files ? { tool_resources: i.files.toolResources } : {}),
  };
  return {
    id: i.id,
    tenant: i.tenant,
    thread_id: i.threadId,
    conversation_key: i.conversationKey,
    assistant_id: i.assistant.id,
    status: "queued",
    created_at_ms: i.now,
    started_at_ms: null,
    ended_at_ms: null,
    deadline_ms: i.now + i.timeoutS * 1000,
    params,
    input: i.input,
    tool_rounds: 0,
    pending_calls: [],
    action_deadline_ms: null,
    calls_closed: false,
    steps: [],
    output_json: null,
    callback: i.callback,
    upstream: {
      conversation_id: null,
      response_id: null,
      response_ids: [],
      response_status: null,
      stream_cursor: null,
      response_started_at_ms: null,
      cancel_sent: false,
      failures: 0,
      retry_at_ms: null,
      call_attempt: 0,
    },
    cancel_requested: false,
    output: null,
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    last_error: null,
    incomplete_details: null,
    timeline: [{ status: "queued", at_ms: i.now, cause: "accepted" }],
    thread_released: false,
    delivery: {
      state: "none",
      events: 0,
      event_id: null,
      event_type: null,
      attempts: [],
      cycle_start: 0,
      next_attempt_at_ms: null,
    },
    ...(i.files?.files ? { files: i.files.files } : {}),
    ...(i.progress ? { progress: i.progress } : {}),
  };
}
