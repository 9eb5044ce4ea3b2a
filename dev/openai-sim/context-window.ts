// The model's context window. A create whose conversation (or chain) plus input and instructions
// takes more tokens than the model's window is refused with OpenAI's 400 `context_length_exceeded`,
// unless the request says `truncation: "auto"`: then items are dropped from the beginning of the
// conversation until it fits (as OpenAI documents it). Windows are set per model, for a test, with
// `POST /__sim/context_windows` (or the `contextWindows` start option); the default is 1,000,000.
import { SimError } from "./http.ts";
import { type Item, itemText } from "./items.ts";
import { tokens } from "./script.ts";
import type { SimState } from "./state.ts";

export const DEFAULT_CONTEXT_WINDOW = 1_000_000;

export type Truncation = "auto" | "disabled";

/** Context windows (tokens) per model, and the one every other model has. */
export type ContextWindows = { models: Map<string, number>; default: number };

export const freshContextWindows = (models: Record<string, number> = {}): ContextWindows => ({
  models: new Map(Object.entries(models)),
  default: DEFAULT_CONTEXT_WINDOW,
});

/** The request's `truncation` (default `disabled`, as OpenAI's); anything else is a 400. */
export function truncationOf(body: Record<string, unknown>): Truncation {
  const value = body.truncation;
  if (value === undefined || value === null) return "disabled";
  if (value === "auto" || value === "disabled") return value;
  throw new SimError(400, `Invalid value: '${String(value)}'. Supported values are: 'auto' and 'disabled'.`, {
    param: "truncation",
    code: "invalid_value",
  });
}

export const windowOf = (state: SimState, model: string) =>
  state.contextWindows.models.get(model) ?? state.contextWindows.default;

const count = (items: Item[]) => items.reduce((sum, item) => sum + tokens(itemText(item)), 0);

/**
 * The context the model sees: all of it when it fits; with `auto`, the newest items that fit (a
 * function call and its output go together); else the refusal OpenAI answers.
 */
export function fitContext(
  state: SimState,
  req: { model: string; instructions?: string | null | undefined; truncation: Truncation },
  context: Item[],
  input: Item[],
): Item[] {
  const window = windowOf(state, req.model);
  const fixed = tokens(req.instructions ?? "") + count(input);
  if (fixed + count(context) <= window) return context;
  if (req.truncation === "auto" && fixed <= window) {
    let kept = context;
    while (kept.length > 0 && fixed + count(kept) > window) kept = kept.slice(1);
    // An output whose call was dropped goes too (the model must see calls before their outputs).
    const calls = new Set(kept.filter((i) => i.type === "function_call").map((i) => String(i.call_id)));
    return kept.filter((i) => i.type !== "function_call_output" || calls.has(String(i.call_id)));
  }
  throw new SimError(
    400,
    "Your input exceeds the context window of this model. Please adjust your input and try again.",
    { param: "input", code: "context_length_exceeded" },
  );
}

/** `POST /__sim/context_windows` `{ "models": { "<model>": tokens }, "default": tokens }` (both optional). */
export function setContextWindows(state: SimState, body: unknown): Record<string, unknown> {
  const b = (body ?? {}) as { models?: unknown; default?: unknown };
  const ok = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n > 0;
  if (b.models !== undefined && (typeof b.models !== "object" || b.models === null))
    throw new SimError(400, "models must be an object of model → tokens", { param: "models" });
  for (const [model, n] of Object.entries((b.models ?? {}) as Record<string, unknown>)) {
    if (!ok(n)) throw new SimError(400, `window of ${model} must be a positive integer`, { param: "models" });
    state.contextWindows.models.set(model, n);
  }
  if (b.default !== undefined) {
    if (!ok(b.default)) throw new SimError(400, "default must be a positive integer", { param: "default" });
    state.contextWindows.default = b.default;
  }
  return contextWindowsInfo(state);
}

export const contextWindowsInfo = (state: SimState) => ({
  models: Object.fromEntries(state.contextWindows.models),
  default: state.contextWindows.default,
});
