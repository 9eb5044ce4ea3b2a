/**
 * What a message does when its thread already has an active run (`on_busy`), and how long a run
 * waits for quiet before it starts (`debounce_ms`). Pure: the thread's queue itself is decided
 * atomically in the intake script (store/scripts.ts createRun); this module resolves the policy a
 * request asks for and words the refusals.
 */
import { MAX_DEBOUNCE_MS } from "./bounds";

export const ON_BUSY = ["queue", "reject", "interrupt", "latest", "merge"] as const;
export type OnBusy = (typeof ON_BUSY)[number];

/** What the intake script is told: a policy, or the Assistants API's original refusal. */
export type BusyMode = OnBusy | "exclusive";

/** The Assistants API's request header that picks a policy (the body's `on_busy` wins). */
export const ON_BUSY_HEADER = "threadhook-on-busy";

/** Policies that `debounce_ms` may go with. */
export const DEBOUNCE_POLICIES: readonly OnBusy[] = ["queue", "merge"];

/** The message of a 400 for an unknown policy: it names every allowed value. */
export const onBusyMessage = `must be one of ${ON_BUSY.map((p) => `"${p}"`).join(", ")}`;

export const isOnBusy = (v: unknown): v is OnBusy =>
  typeof v === "string" && (ON_BUSY as readonly string[]).includes(v);

export interface BusyChoice {
  mode: BusyMode;
  debounceMs: number;
}

export type BusyProblem = { param: string; message: string };

/**
 * The policy a request runs under: the message's own, else its assistant's default, else the
 * door's (`queue` on the webhook API). On the Assistants API (`doorDefault` "exclusive") only the
 * request chooses (the extension field or header): without them a run behaves exactly as the
 * original API's, whatever its assistant says.
 * Returns a problem (a 400) for a `debounce_ms` out of bounds or with a policy it does not go with.
 */
export function resolveBusy(input: {
  message: { on_busy?: OnBusy | undefined; debounce_ms?: number | undefined };
  assistant: { on_busy?: OnBusy | null | undefined; debounce_ms?: number | null | undefined };
  doorDefault: BusyMode;
}): BusyChoice | BusyProblem {
  const { message } = input;
  const assistant = input.doorDefault === "exclusive" ? {} : input.assistant;
  const mode: BusyMode = message.on_busy ?? assistant.on_busy ?? input.doorDefault;
  // The message's debounce goes with its own policy; the assistant's only with the assistant's.
  const debounceMs =
    message.debounce_ms ?? (message.on_busy === undefined ? (assistant.debounce_ms ?? 0) : 0);
  if (!Number.isInteger(debounceMs) || debounceMs < 0 || debounceMs > MAX_DEBOUNCE_MS)
    return {
      param: "debounce_ms",
      message: `debounce_ms must be a whole number of milliseconds from 0 to ${MAX_DEBOUNCE_MS}.`,
    };
  if (debounceMs > 0 && !(DEBOUNCE_POLICIES as readonly string[]).includes(mode))
    return {
      param: "debounce_ms",
      message: `debounce_ms goes with on_busy "queue" or "merge", not "${mode === "exclusive" ? "none" : mode}".`,
    };
  return { mode, debounceMs };
}

export const isBusyProblem = (c: BusyChoice | BusyProblem): c is BusyProblem => "param" in c;

/** `cancelled_reason` a run superseded by a newer one (`latest`, `interrupt`) carries, with the run that replaced it. */
export const SUPERSEDED = "superseded";

/** The run hash's cancel flag for a run superseded by `byRunId` (store: RUN_FIELDS.cancel). */
export const supersededFlag = (byRunId: string) => `${SUPERSEDED}:${byRunId}`;

/** Parse the run hash's cancel flag: "1" (a plain cancel) or "superseded:<run id>". */
export function cancelFlag(flag: string): { reason: string | null; by: string | null } {
  if (flag.startsWith(`${SUPERSEDED}:`))
    return { reason: SUPERSEDED, by: flag.slice(SUPERSEDED.length + 1) || null };
  return { reason: null, by: null };
}
