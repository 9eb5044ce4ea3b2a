import type { ResponseFormat, RunInput, RunToolResources, TextPart, ToolChoice, ToolDef } from "./types";

/** What the engine needs to know about an upstream (OpenAI) response. */
export interface ObservedCall {
  call_id: string;
  name: string;
  arguments: string;
}

export interface ObservedResponse {
  id: string;
  tool_calls: ObservedCall[];
  /** Id of the output message item, when the response produced text. */
  message_id: string | null;
  status: "queued" | "in_progress" | "completed" | "failed" | "cancelled" | "incomplete";
  content: TextPart[];
  usage: { input_tokens: number; output_tokens: number; total_tokens: number } | null;
  /** The usage is an estimate (a response rebuilt from a conversation's items: engine/lost-create.ts). */
  usage_estimated?: boolean;
  error: { code: string; message: string } | null;
  incomplete_reason: string | null;
  /** The run that created it, from the metadata threadhook writes on every response it creates. */
  owner?: { tenant: string; run_id: string } | null;
  /** The create key in its metadata (`threadhook_create`), when threadhook created it. */
  create_key?: string | null;
  /** Containers its code interpreter calls ran in (their generated files are collected at the end). */
  containers?: string[];
}

/** Metadata keys threadhook puts on each response it creates (see `responseRequest`). */
export const RESPONSE_METADATA = {
  tenant: "threadhook_tenant",
  run: "threadhook_run",
  round: "threadhook_round",
  /** The create attempt's key (engine/call.ts `createKey`): a response found by it is the round's. */
  create: "threadhook_create",
} as const;

/** The request the engine wants sent to create a background response. */
export type ResponseInput = RunInput | { type: "function_call_output"; call_id: string; output: string }[];

/** Whether a round brings input of its own (none: the conversation alone is the context). */
export const hasInput = (input: ResponseInput) => typeof input === "string" || input.length > 0;

export interface ResponseRequest {
  model: string;
  instructions: string | null;
  input: ResponseInput;
  tools: ToolDef[];
  tool_choice: ToolChoice;
  parallel_tool_calls: boolean;
  response_format: ResponseFormat;
  conversation: string;
  temperature: number | null;
  top_p: number | null;
  max_output_tokens: number | null;
  reasoning_effort: string | null;
  /**
   * Always `auto`: past the model's context window OpenAI drops the oldest conversation items
   * instead of refusing the response (a long-lived thread keeps working). See responseRequest.
   */
  truncation: "auto";
  metadata: Record<string, string>;
  tool_resources?: RunToolResources;
}

const UPSTREAM_TERMINAL = new Set(["completed", "failed", "cancelled", "incomplete"]);
export const isUpstreamTerminal = (status: string | null) => status !== null && UPSTREAM_TERMINAL.has(status);
