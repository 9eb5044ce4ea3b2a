/**
 * A create whose answer was lost (dropped connection, timeout, a step killed after sending) may have
 * made a response that has already ended: `conversation_locked` only reveals one still running.
 * OpenAI has no list of responses and a conversation's items carry no response id, but a response
 * that ends (completed or incomplete) appends its input and then its output to the conversation. So
 * when the conversation's newest items are the round's input followed by output, that response is
 * the round's: it is adopted from those items instead of being created a second time. Pure.
 */
import type { InputMessage } from "./types";
import type { ObservedResponse, ResponseInput } from "./upstream-types";

/** A conversation item, as much of it as the look-up needs (upstream/openai.ts reads them). */
export interface SeenItem {
  id: string;
  type: string;
  role?: string;
  /** Text parts joined, for messages. */
  text?: string;
  /** How many non-text parts (images, files) a message has. */
  other_parts?: number;
  call_id?: string;
  name?: string;
  arguments?: string;
}

/** How many of the newest items the look-up reads (one page: the round's input and its output). */
export const LOST_LOOKUP_ITEMS = 100;

/** Items a response writes as its output (anything but a caller's message or a tool's output). */
const isOutput = (item: SeenItem) =>
  item.type !== "function_call_output" && !(item.type === "message" && item.role !== "assistant");

function sameInput(item: SeenItem | undefined, want: SeenItem): boolean {
  if (!item || item.type !== want.type) return false;
  if (want.type === "function_call_output") return item.call_id === want.call_id;
  return item.role === want.role && item.text === want.text && (item.other_parts ?? 0) === want.other_parts;
}

function messageShape(m: InputMessage): SeenItem {
  if (typeof m.content === "string")
    return { id: "", type: "message", role: m.role, text: m.content, other_parts: 0 };
  const texts = m.content.flatMap((p) => (p.type === "input_text" ? [p.text] : []));
  return {
    id: "",
    type: "message",
    role: m.role,
    text: texts.join(""),
    other_parts: m.content.length - texts.length,
  };
}

/** The round's input as the items it becomes in the conversation (null: nothing to recognise it by). */
export function inputShape(input: ResponseInput): SeenItem[] | null {
  if (typeof input === "string") return input ? [messageShape({ role: "user", content: input })] : null;
  if (input.length === 0) return null;
  return input.map((i) =>
    "call_id" in i ? { id: "", type: "function_call_output", call_id: i.call_id } : messageShape(i),
  );
}

/**
 * The round's lost response, rebuilt from the conversation's newest items (`newest` first), or null
 * when they do not end with the round's input and an answer to it. It has no usage (the items do not
 * say; OpenAI's webhook, when configured, still counts it: a stray by id) and ended `completed`.
 */
export function lostResponseFromItems(
  newest: SeenItem[],
  input: ResponseInput,
  key: string,
): ObservedResponse | null {
  const want = inputShape(input);
  if (!want) return null;
  let outputs = 0;
  while (outputs < newest.length && isOutput(newest[outputs] as SeenItem)) outputs++;
  if (outputs === 0) return null;
  const before = newest.slice(outputs, outputs + want.length).reverse();
  if (before.length < want.length || !want.every((w, i) => sameInput(before[i], w))) return null;
  const out = newest.slice(0, outputs).reverse();
  const messages = out.filter((i) => i.type === "message");
  return {
    id: `lost_${key}_${out[0]?.id ?? ""}`,
    tool_calls: out
      .filter((i) => i.type === "function_call")
      .map((i) => ({ call_id: i.call_id ?? "", name: i.name ?? "", arguments: i.arguments ?? "" })),
    message_id: messages[0]?.id ?? null,
    status: "completed",
    content: messages
      .filter((m) => m.text)
      .map((m) => ({ type: "text" as const, text: { value: m.text ?? "", annotations: [] } })),
    usage: null,
    error: null,
    incomplete_reason: null,
  };
}
