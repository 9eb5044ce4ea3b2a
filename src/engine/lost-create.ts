/**
 * A create whose answer was lost (dropped connection, timeout, a step killed after sending) may have
 * made a response that has already ended: `conversation_locked` only reveals one still running.
 * OpenAI has no list of responses and a conversation's items carry no response id, but a response
 * that ends (completed or incomplete) appends its input and then its output to the conversation. So
 * when the conversation's newest items are the round's input followed by output, that response is
 * the round's: it is adopted from those items instead of being created a second time.
 *
 * The same look also finds function calls the conversation holds open, which would make OpenAI
 * refuse every later response on it ("No tool output found for function call …"): a response that
 * asked for tools after its run had stopped following it (its create's answer lost and the run then
 * failed, expired or was cancelled; a `call` whose answer never came), or whose run ended before it
 * closed them. A run's first create looks, and closes them (`callsLeftOpen`). Pure.
 */
import { createKey } from "./call";
import type { InputMessage, RunRecord } from "./types";
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
  /** A function call output's text. */
  output?: string;
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
 * Tokens of a text by OpenAI's rule of thumb: about 4 characters a token, rounded up (the OpenAI
 * stand-in bills by the same rule, dev/openai-sim/README.md "Usage").
 */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/** The text an item counts for: a message's text, a call's name and arguments, an output's text. */
function itemText(item: SeenItem): string {
  if (item.type === "function_call") return `${item.name ?? ""}${item.arguments ?? ""}`;
  if (item.type === "function_call_output") return item.output ?? "";
  return item.text ?? "";
}

/**
 * The usage of a response rebuilt from a conversation's items, estimated (conversation items carry
 * no usage and no response id, so the real one cannot be fetched): input = the instructions plus
 * every item the page shows before the response's output (the round's input and the history before
 * it; a conversation longer than the page is under-counted, images and files count nothing);
 * output = the output items. Each text counts `estimateTokens`.
 */
export function estimatedUsage(instructions: string | null, consumed: SeenItem[], produced: SeenItem[]) {
  const count = (items: SeenItem[]) => items.reduce((sum, i) => sum + estimateTokens(itemText(i)), 0);
  const input_tokens = estimateTokens(instructions ?? "") + count(consumed);
  const output_tokens = count(produced);
  return { input_tokens, output_tokens, total_tokens: input_tokens + output_tokens };
}

/**
 * The round's lost response, rebuilt from the conversation's newest items (`newest` first), or null
 * when they do not end with the round's input and an answer to it. Its usage is estimated
 * (`estimatedUsage`, marked `usage_estimated`; OpenAI's webhook, when configured, brings the real one
 * later: engine/run.ts `onStray` puts it in the estimate's place) and it ended `completed`.
 */
export function lostResponseFromItems(
  newest: SeenItem[],
  input: ResponseInput,
  key: string,
  instructions: string | null = null,
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
    usage: estimatedUsage(instructions, newest.slice(outputs).reverse(), out),
    usage_estimated: true,
    create_key: key,
    error: null,
    incomplete_reason: null,
  };
}

/**
 * Why a create must first read the conversation's newest items: `retry`, an earlier attempt of the
 * round lost its answer (its response may have ended: adopt it), or `first`, the run's first
 * response on a conversation it did not make (an earlier run may have left a function call open:
 * close it). Every attempt of a first round looks: a response an earlier run lost may still be
 * running at the first look (the create then answers `conversation_locked`) and end with a call
 * open before the next. Null: no look (a later round's first attempt, a conversation the run made).
 */
export function looksBeforeCreate(run: RunRecord): "retry" | "first" | null {
  if (!run.upstream.conversation_id) return null;
  if (run.upstream.creating?.key === createKey(run)) return "retry";
  const first = run.tool_rounds === 0 && run.upstream.response_ids.length === 0;
  return first && run.upstream.conversation_made !== true ? "first" : null;
}

/**
 * Call ids of the function calls the newest items (`newest` first) hold open, oldest first: a
 * `function_call` with no `function_call_output` for it, other than those `input` (the round's
 * create) answers. An output always follows its call, so one page of the newest items sees both.
 */
export function callsLeftOpen(newest: SeenItem[], input: ResponseInput): string[] {
  const answered = new Set<string>();
  for (const item of newest)
    if (item.type === "function_call_output" && item.call_id) answered.add(item.call_id);
  if (typeof input !== "string") for (const i of input) if ("call_id" in i) answered.add(i.call_id);
  const open: string[] = [];
  for (const item of [...newest].reverse())
    if (item.type === "function_call" && item.call_id && !answered.has(item.call_id)) {
      answered.add(item.call_id);
      open.push(item.call_id);
    }
  return open;
}

/** What a call closed by `callsLeftOpen` answers: it was never executed. */
export const LEFT_OPEN_OUTPUT = JSON.stringify({
  error: "not executed: the run that asked for this call had ended",
});
