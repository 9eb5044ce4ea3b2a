/**
 * Bounds on what a run record holds (issue 13): a run document is read and written whole on every
 * step, Upstash limits request sizes, and an isolate has 128 MB. docs/limits.md lists them.
 */

/** A tool output (an endpoint's answer or the caller's) is kept, and sent to the model, up to this. */
export const MAX_STORED_TOOL_OUTPUT_CHARS = 64 * 1024;
/** Delivery attempts a run keeps (the newest); one cycle is at most DELIVERY_RETRIES (≤ 10) + 1. */
export const MAX_DELIVERY_ATTEMPTS_KEPT = 25;
/** Messages a thread may hold for its next run (the next one is refused, 400 `too_many_held_messages`). */
export const MAX_HELD_MESSAGES = 100;
/**
 * Largest run document (UTF-8 bytes of its JSON) the store writes; past it the write is refused
 * (store/runs.ts `RunTooLargeError`). The bounds above keep a run well under it.
 */
export const MAX_RUN_DOC_BYTES = 4 * 1024 * 1024;

/** A tool output cut to MAX_STORED_TOOL_OUTPUT_CHARS, ending with a marker that says so. */
export function capToolOutput(output: string): string {
  if (output.length <= MAX_STORED_TOOL_OUTPUT_CHARS) return output;
  const marker = (kept: number) =>
    `\n[threadhook: output truncated, ${kept} of ${output.length} characters kept]`;
  const kept = MAX_STORED_TOOL_OUTPUT_CHARS - marker(MAX_STORED_TOOL_OUTPUT_CHARS).length;
  return `${output.slice(0, kept)}${marker(kept)}`;
}

/** The newest MAX_DELIVERY_ATTEMPTS_KEPT attempts, with the cycle's start moved along. */
export function keepLastAttempts<T>(
  attempts: T[],
  cycleStart: number,
): { attempts: T[]; cycle_start: number } {
  const drop = Math.max(0, attempts.length - MAX_DELIVERY_ATTEMPTS_KEPT);
  return { attempts: attempts.slice(drop), cycle_start: Math.max(0, cycleStart - drop) };
}

/** Longest `debounce_ms` (quiet a run waits for before it starts), in ms. */
export const MAX_DEBOUNCE_MS = 60_000;
