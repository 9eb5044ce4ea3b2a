// Input items as the caller sends them → items as the API stores and returns them (with ids and status).
import { invalidParam, missingParam, newId, SimError } from "./http.ts";

export type Item = { id: string; type: string; [key: string]: unknown };

const ROLES = new Set(["user", "assistant", "system", "developer"]);

/** `input` (a string or an item list) → stored items. */
export function normalizeInput(input: unknown, param = "input"): Item[] {
  if (typeof input === "string") return [message("user", input)];
  if (!Array.isArray(input)) {
    throw new SimError(400, `Invalid type for '${param}': expected one of a string or an array.`, {
      param,
      code: "invalid_type",
    });
  }
  return input.map((raw, i) => normalizeItem(raw, `${param}[${i}]`));
}

export function normalizeItem(raw: unknown, param: string): Item {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SimError(400, `Invalid type for '${param}': expected an object.`, {
      param,
      code: "invalid_type",
    });
  }
  const r = raw as Record<string, unknown>;
  const type = typeof r.type === "string" ? r.type : typeof r.role === "string" ? "message" : "";
  if (type === "message") return messageItem(r, param);
  if (type === "function_call") {
    for (const key of ["call_id", "name", "arguments"]) {
      if (typeof r[key] !== "string") throw missingParam(`${param}.${key}`);
    }
    return { ...r, type, id: idOf(r, "fc"), status: "completed" } as Item;
  }
  if (type === "function_call_output") {
    if (typeof r.call_id !== "string") throw missingParam(`${param}.call_id`);
    if (typeof r.output !== "string" && !Array.isArray(r.output)) throw missingParam(`${param}.output`);
    return { ...r, type, id: idOf(r, "fco"), status: "completed" } as Item;
  }
  if (type === "" || type === "item_reference") {
    throw invalidParam(`${param}.type`, `the simulator does not support item type '${type || "(none)"}'.`);
  }
  return { ...r, type, id: idOf(r, "item") } as Item;
}

function messageItem(r: Record<string, unknown>, param: string): Item {
  const role = r.role;
  if (typeof role !== "string" || !ROLES.has(role)) {
    throw invalidParam(`${param}.role`, `expected one of 'user', 'assistant', 'system' or 'developer'.`);
  }
  const content = r.content;
  if (typeof content === "string") return { ...message(role, content), id: idOf(r, "msg") };
  if (!Array.isArray(content)) throw missingParam(`${param}.content`);
  const parts = content.map((part, i) => {
    if (!part || typeof part !== "object" || typeof (part as { type?: unknown }).type !== "string") {
      throw missingParam(`${param}.content[${i}].type`);
    }
    return part as Record<string, unknown>;
  });
  return { id: idOf(r, "msg"), type: "message", status: "completed", role, content: parts };
}

/** A stored message; assistant text is `output_text`, every other role's is `input_text`. */
export function message(role: string, text: string): Item {
  const part =
    role === "assistant"
      ? { type: "output_text", text, annotations: [], logprobs: [] }
      : { type: "input_text", text };
  return { id: newId("msg"), type: "message", status: "completed", role, content: [part] };
}

function idOf(r: Record<string, unknown>, prefix: string): string {
  return typeof r.id === "string" && r.id !== "" ? r.id : newId(prefix);
}

/** The text a model would read in an item (used for token counts and the echo). */
export function itemText(item: Item): string {
  if (item.type === "message" && Array.isArray(item.content)) {
    return item.content
      .map((part: Record<string, unknown>) =>
        typeof part.text === "string" ? part.text : typeof part.refusal === "string" ? part.refusal : "",
      )
      .join("");
  }
  if (item.type === "function_call") return `${String(item.name)}${String(item.arguments)}`;
  if (item.type === "function_call_output") {
    return typeof item.output === "string" ? item.output : JSON.stringify(item.output);
  }
  return JSON.stringify(item);
}

/** Text of a user message's text parts, joined by newlines; null for any other item. */
export function userText(item: Item): string | null {
  if (item.type !== "message" || item.role !== "user" || !Array.isArray(item.content)) return null;
  return item.content
    .filter((part: Record<string, unknown>) => typeof part.text === "string")
    .map((part: Record<string, unknown>) => part.text as string)
    .join("\n");
}

export function lastUserIndex(items: Item[]): number {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item && userText(item) !== null) return i;
  }
  return -1;
}

/** Every function_call in the context + input must have an output, and every output a call. */
export function checkToolPairs(context: Item[], input: Item[]): void {
  const calls = new Set<string>();
  const answered = new Set<string>();
  for (const item of [...context, ...input]) {
    if (item.type === "function_call") calls.add(String(item.call_id));
    if (item.type === "function_call_output") answered.add(String(item.call_id));
  }
  for (const item of input) {
    if (item.type === "function_call_output" && !calls.has(String(item.call_id))) {
      throw new SimError(400, `No tool call found for function call output with call_id ${item.call_id}.`, {
        param: "input",
      });
    }
  }
  for (const callId of calls) {
    if (!answered.has(callId)) {
      throw new SimError(400, `No tool output found for function call ${callId}.`, { param: "input" });
    }
  }
}
