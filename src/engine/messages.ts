/**
 * Thread messages in the Assistants v2 shape (`thread.message`), and how they become model input.
 * Pure: ids and times are passed in.
 *
 * A thread's messages are threadhook's record of its conversation: user messages are recorded when
 * they arrive and travel to the model as the input of the next run; the answer of each run is
 * recorded (with its upstream item id, `run_id` and `assistant_id`) when the run ends.
 */
import type { InputMessage, InputPart, RunRecord, TextPart } from "./types";

export interface ImageFilePart {
  type: "image_file";
  image_file: { file_id: string; detail?: "auto" | "low" | "high" };
}
export interface ImageUrlPart {
  type: "image_url";
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}
export type MessageContent = TextPart | ImageFilePart | ImageUrlPart;

export interface Attachment {
  file_id: string;
  tools: { type: "code_interpreter" | "file_search" }[];
}

export interface MessageRecord {
  id: string;
  object: "thread.message";
  created_at: number;
  thread_id: string;
  status: "in_progress" | "incomplete" | "completed";
  incomplete_details: { reason: string } | null;
  completed_at: number | null;
  incomplete_at: number | null;
  role: "user" | "assistant";
  content: MessageContent[];
  assistant_id: string | null;
  run_id: string | null;
  attachments: Attachment[] | null;
  metadata: Record<string, string>;
  /** v1 form: files for whichever of the run's hosted tools there are (engine/files.ts). */
  file_ids?: string[];
}

/** Content as callers send it: a string, or parts (`text` with a string, images). */
export type ContentInput = string | ({ type: "text"; text: string } | ImageFilePart | ImageUrlPart)[];

const text = (value: string): TextPart => ({ type: "text", text: { value, annotations: [] } });

export function newMessage(m: {
  id: string;
  threadId: string;
  role: "user" | "assistant";
  content: ContentInput;
  attachments?: Attachment[] | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  file_ids?: string[] | null | undefined;
  nowMs: number;
}): MessageRecord {
  const content: MessageContent[] =
    typeof m.content === "string"
      ? [text(m.content)]
      : m.content.map((p) => (p.type === "text" ? text(p.text) : p));
  const at = Math.floor(m.nowMs / 1000);
  return {
    id: m.id,
    object: "thread.message",
    created_at: at,
    thread_id: m.threadId,
    status: "completed",
    incomplete_details: null,
    completed_at: at,
    incomplete_at: null,
    role: m.role,
    content,
    assistant_id: null,
    run_id: null,
    attachments: m.attachments ?? [],
    metadata: m.metadata ?? {},
    ...(m.file_ids?.length ? { file_ids: m.file_ids } : {}),
  };
}

/** A message as model input (Responses `EasyInputMessage`): text, images by URL or file id. */
export function toInputMessage(m: MessageRecord): InputMessage {
  const onlyText = m.content.every((c) => c.type === "text");
  if (onlyText || m.role === "assistant") {
    const joined = m.content.map((c) => (c.type === "text" ? c.text.value : "")).join("\n");
    return { role: m.role, content: joined };
  }
  return { role: m.role, content: m.content.map(toInputPart) };
}

function toInputPart(c: MessageContent): InputPart {
  if (c.type === "text") return { type: "input_text", text: c.text.value };
  if (c.type === "image_url")
    return { type: "input_image", image_url: c.image_url.url, detail: c.image_url.detail ?? "auto" };
  return { type: "input_image", file_id: c.image_file.file_id, detail: c.image_file.detail ?? "auto" };
}

/** The run's answer as an assistant message, once the run has ended with output (else null). */
export function outputMessage(run: RunRecord): MessageRecord | null {
  const step = [...run.steps].reverse().find((s) => s.type === "message_creation" && s.message_id);
  if (!run.output || !step?.message_id || run.ended_at_ms === null) return null;
  const at = Math.floor(run.ended_at_ms / 1000);
  const incomplete = run.status === "incomplete";
  return {
    id: step.message_id,
    object: "thread.message",
    created_at: Math.floor(step.created_at_ms / 1000),
    thread_id: run.thread_id,
    status: incomplete ? "incomplete" : "completed",
    incomplete_details: incomplete ? { reason: messageIncompleteReason(run) } : null,
    completed_at: incomplete ? null : at,
    incomplete_at: incomplete ? at : null,
    role: "assistant",
    content: run.output.content,
    assistant_id: run.assistant_id,
    run_id: run.id,
    attachments: [],
    metadata: {},
  };
}

/** Assistants' message reasons: content_filter | max_tokens | run_cancelled | run_expired | run_failed. */
function messageIncompleteReason(run: RunRecord): string {
  const reason = run.incomplete_details?.reason ?? "";
  if (reason === "content_filter") return "content_filter";
  return reason.startsWith("max_") ? "max_tokens" : "run_failed";
}
