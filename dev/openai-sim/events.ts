// Output items and the full, timed SSE event list of a response, fixed when the response is created.
import { newCallId, newId } from "./http.ts";
import type { Item } from "./items.ts";
import { splitText } from "./script.ts";
import type { FinalStatus, Plan, SimEvent } from "./state.ts";

export const SIM_FILE_ID = "file-sim0000000000000000000001";

export function buildOutput(plan: Plan): Item[] {
  if (plan.fail) return [];
  if (plan.toolCalls.length > 0) {
    return plan.toolCalls.map((call) => ({
      id: newId("fc"),
      type: "function_call",
      status: "completed",
      arguments: call.arguments,
      call_id: newCallId(),
      name: call.name,
    }));
  }
  const annotations = [
    ...plan.citations,
    ...(plan.annotations
      ? [{ type: "file_citation", file_id: SIM_FILE_ID, filename: "sim-source.txt", index: plan.text.length }]
      : []),
  ];
  return [
    ...plan.toolItems,
    {
      id: newId("msg"),
      type: "message",
      status: plan.incomplete ? "incomplete" : "completed",
      role: "assistant",
      content: [{ type: "output_text", text: plan.text, annotations, logprobs: [] }],
    },
  ];
}

export type Timing = {
  createdAtMs: number;
  inProgressAtMs: number;
  terminalAtMs: number;
  background: boolean;
};

/** Lifecycle snapshots come from `snapshot`; the terminal event's response is filled in on finalize. */
export function buildEvents(
  timing: Timing,
  plan: Plan,
  output: Item[],
  final: FinalStatus,
  snapshot: (status: "queued" | "in_progress") => unknown,
): SimEvent[] {
  const events: SimEvent[] = [];
  const push = (atMs: number, type: string, fields: Record<string, unknown>): void => {
    events.push({ atMs: Math.round(atMs), data: { type, sequence_number: events.length, ...fields } });
  };
  const first = timing.background ? "queued" : "in_progress";
  push(timing.createdAtMs, "response.created", { response: snapshot(first) });
  if (timing.background) push(timing.createdAtMs, "response.queued", { response: snapshot("queued") });
  push(timing.inProgressAtMs, "response.in_progress", { response: snapshot("in_progress") });
  const span = timing.terminalAtMs - timing.inProgressAtMs;
  output.forEach((item, index) => {
    const from = timing.inProgressAtMs + (span * index) / output.length;
    const to = timing.inProgressAtMs + (span * (index + 1)) / output.length;
    if (item.type === "message") messageEvents(push, item, index, from, to, plan.chunks);
    else if (item.type === "function_call") callEvents(push, item, index, from, to, plan.chunks);
    else hostedToolEvents(push, item, index, from, to);
  });
  push(timing.terminalAtMs, `response.${final}`, { response: null });
  return events;
}

type Push = (atMs: number, type: string, fields: Record<string, unknown>) => void;

function messageEvents(
  push: Push,
  item: Item,
  index: number,
  from: number,
  to: number,
  chunks: number,
): void {
  const part = (item.content as Record<string, unknown>[])[0] as { text: string; annotations: unknown[] };
  const ids = { item_id: item.id, output_index: index };
  const at = { ...ids, content_index: 0 };
  push(from, "response.output_item.added", {
    output_index: index,
    item: { ...item, status: "in_progress", content: [] },
  });
  push(from, "response.content_part.added", {
    ...at,
    part: { type: "output_text", text: "", annotations: [], logprobs: [] },
  });
  const pieces = splitText(part.text, chunks);
  pieces.forEach((delta, k) => {
    push(from + ((to - from) * (k + 1)) / (pieces.length + 1), "response.output_text.delta", {
      ...at,
      delta,
      logprobs: [],
    });
  });
  part.annotations.forEach((annotation, k) => {
    push(to, "response.output_text.annotation.added", { ...at, annotation_index: k, annotation });
  });
  push(to, "response.output_text.done", { ...at, text: part.text, logprobs: [] });
  push(to, "response.content_part.done", { ...at, part });
  push(to, "response.output_item.done", { output_index: index, item });
}

function callEvents(push: Push, item: Item, index: number, from: number, to: number, chunks: number): void {
  const args = String(item.arguments);
  const ids = { item_id: item.id, output_index: index };
  push(from, "response.output_item.added", {
    output_index: index,
    item: { ...item, status: "in_progress", arguments: "" },
  });
  const pieces = splitText(args, chunks);
  pieces.forEach((delta, k) => {
    push(from + ((to - from) * (k + 1)) / (pieces.length + 1), "response.function_call_arguments.delta", {
      ...ids,
      delta,
    });
  });
  push(to, "response.function_call_arguments.done", { ...ids, name: item.name, arguments: args });
  push(to, "response.output_item.done", { output_index: index, item });
}

/** A hosted tool's call (`file_search_call`, `code_interpreter_call`): added in progress, then done. */
function hostedToolEvents(push: Push, item: Item, index: number, from: number, to: number): void {
  push(from, "response.output_item.added", { output_index: index, item: { ...item, status: "in_progress" } });
  push(to, "response.output_item.done", { output_index: index, item });
}
