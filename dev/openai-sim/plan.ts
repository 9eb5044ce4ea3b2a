// Decides what the simulated model does for one response (README "Scripting contract").
import { type Item, lastUserIndex, userText } from "./items.ts";
import { type ParsedText, parseUserText, type Script, tokens, toolResultsText } from "./script.ts";
import type { Plan } from "./state.ts";

export const DEFAULT_CHUNKS = 3;

/** Keys a tool-output response inherits from the user message that started the run. */
const INHERITED: (keyof Script)[] = ["delay_ms", "chunks", "tool_calls", "tool_rounds"];

export type PlanParams = {
  tools: unknown[];
  toolChoice: unknown;
  parallelToolCalls: boolean;
  maxOutputTokens: number | null;
  defaultDelayMs: number;
};

/** The last user text of this response's own input, parsed (scripts elsewhere do not apply). */
export function parseInput(input: Item[]): ParsedText {
  const index = lastUserIndex(input);
  const item = input[index];
  return item ? parseUserText(userText(item) ?? "") : { echo: "", script: null, scriptText: null };
}

export function makePlan(input: Item[], context: Item[], params: PlanParams): Plan {
  const hasOutputs = input.some((item) => item.type === "function_call_output");
  const { script, text, wantsCalls } = hasOutputs
    ? toolRound(input, context)
    : lastUserIndex(input) < 0
      ? continuation(context)
      : firstRound(input);
  const calls = wantsCalls ? allowedCalls(script, params) : [];
  let plan: Plan = {
    delayMs: script?.delay_ms ?? params.defaultDelayMs,
    chunks: script?.chunks ?? DEFAULT_CHUNKS,
    text,
    toolCalls: calls,
    fail: script?.fail ?? null,
    incomplete: script?.incomplete ?? null,
    annotations: script?.annotations === true,
    toolItems: [],
    citations: [],
    script,
  };
  if (plan.incomplete) plan = { ...plan, toolCalls: [] };
  return calls.length === 0 ? capOutput(plan, params.maxOutputTokens) : plan;
}

function firstRound(input: Item[]): { script: Script | null; text: string; wantsCalls: boolean } {
  const { echo, script } = parseInput(input);
  return { script, text: script?.reply ?? `echo: ${echo}`, wantsCalls: true };
}

/** What the model says when nothing in its context came from a user. */
export const GREETING = "Hello! How can I help?";

/**
 * No user message in its own input (the conversation alone, or only a developer nudge): the model answers the context's last user message
 * again, as a follow-up would (inheriting `delay_ms`, `chunks`, `tool_calls`, `tool_rounds`), or
 * greets when there is none.
 */
function continuation(context: Item[]): { script: Script | null; text: string; wantsCalls: boolean } {
  const item = context[lastUserIndex(context)];
  if (!item) return { script: null, text: GREETING, wantsCalls: false };
  const { echo, script } = parseUserText(userText(item) ?? "");
  return { script: inherit(script), text: `echo: ${echo}`, wantsCalls: true };
}

/** Input carries function outputs: call the tools again while rounds remain, else report the results. */
function toolRound(
  input: Item[],
  context: Item[],
): { script: Script | null; text: string; wantsCalls: boolean } {
  const all = [...context, ...input];
  const index = lastUserIndex(all);
  const origin = all[index] ? parseUserText(userText(all[index] as Item) ?? "").script : null;
  const script = index >= context.length ? origin : inherit(origin);
  const roundsDone = countCallRounds(all.slice(index + 1));
  const wantsCalls = (script?.tool_calls?.length ?? 0) > 0 && roundsDone < (script?.tool_rounds ?? 1);
  return { script, text: toolResultsText(orderedOutputs(all, input)), wantsCalls };
}

function inherit(script: Script | null): Script | null {
  if (!script) return null;
  const picked: Record<string, unknown> = {};
  for (const key of INHERITED) if (script[key] !== undefined) picked[key] = script[key];
  return picked as Script;
}

/** A round is a run of consecutive function_call items (one response's calls). */
function countCallRounds(items: Item[]): number {
  let rounds = 0;
  let previous = "";
  for (const item of items) {
    if (item.type === "function_call" && previous !== "function_call") rounds++;
    previous = item.type;
  }
  return rounds;
}

/** The outputs of this input, in the order the model made the calls. */
function orderedOutputs(all: Item[], input: Item[]): unknown[] {
  const position = new Map<string, number>();
  all.forEach((item, i) => {
    if (item.type === "function_call" && !position.has(String(item.call_id)))
      position.set(String(item.call_id), i);
  });
  return input
    .filter((item) => item.type === "function_call_output")
    .map((item, i) => ({ item, order: position.get(String(item.call_id)) ?? Number.MAX_SAFE_INTEGER, i }))
    .sort((a, b) => a.order - b.order || a.i - b.i)
    .map(({ item }) => item.output);
}

/** Only functions the request defines can be called; tool_choice and parallel_tool_calls apply. */
function allowedCalls(script: Script | null, params: PlanParams): Plan["toolCalls"] {
  if (!script?.tool_calls || params.toolChoice === "none") return [];
  const defined = new Set(
    params.tools
      .filter(
        (tool): tool is { type: string; name: string } => (tool as { type?: unknown }).type === "function",
      )
      .map((tool) => tool.name),
  );
  const calls = script.tool_calls.filter((call) => defined.has(call.name));
  return params.parallelToolCalls ? calls : calls.slice(0, 1);
}

/** A reply longer than max_output_tokens is cut there and the response ends `incomplete`. */
function capOutput(plan: Plan, maxOutputTokens: number | null): Plan {
  if (maxOutputTokens === null || plan.fail || tokens(plan.text) <= maxOutputTokens) return plan;
  return { ...plan, text: plan.text.slice(0, maxOutputTokens * 4), incomplete: "max_output_tokens" };
}
