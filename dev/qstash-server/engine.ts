// Message lifecycle: dedup, timers, delivery attempts, retries with backoff, callbacks and the DLQ.
import { type CallbackPayloadExtra, callbackMessage, callbackPayload } from "./callbacks.ts";
import { deliverOnce, type Outcome } from "./deliver.ts";
import type { Faults } from "../faults.ts";
import { evaluateRetryDelay } from "./expr.ts";
import type { Message } from "./message.ts";

export type QStashStats = {
  /** Accepted (non-duplicate) messages; each batch element counts. */
  published: number;
  /** Successful (2xx) delivery attempts, callbacks included. */
  deliveries: number;
  /** Every delivery attempt (first tries and retries, callbacks included; injected duplicates not). */
  deliveryAttempts: number;
  retries: number;
  /** Messages moved to the DLQ. */
  dlq: number;
  duplicatesInjected: number;
  /** Publishes answered with `deduplicated: true`. */
  deduplicated: number;
  callbacks: number;
  cancelled: number;
  /** HTTP requests sent per destination path (attempts, retries and injected duplicates). */
  byDestinationPath: Record<string, number>;
  /** API requests per route, e.g. `POST /v2/publish`. */
  requests: Record<string, number>;
};

export type DlqEntry = { dlqId: string; message: Message; response: Outcome; movedAt: number };

export type EngineOptions = {
  timeScale: number;
  duplicateFraction: number;
  keys: { current: string; next: string };
  /** A destination's answer is cut to this many bytes in callbacks (the plan's message size). */
  callbackBodyMaxBytes: number;
  /** Fault switches: `drop_delivery`, `duplicate`, `late`, `reorder` (publish refusals live in server.ts). */
  faults: Faults;
};

export const freshStats = (): QStashStats => ({
  published: 0,
  deliveries: 0,
  deliveryAttempts: 0,
  retries: 0,
  dlq: 0,
  duplicatesInjected: 0,
  deduplicated: 0,
  callbacks: 0,
  cancelled: 0,
  byDestinationPath: {},
  requests: {},
});

const DEDUP_WINDOW_MS = 10 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export type Engine = ReturnType<typeof createEngine>;

export function createEngine(opts: EngineOptions) {
  const state = {
    stats: freshStats(),
    /** Pending and in-flight messages; removed once delivered, dead-lettered or cancelled. */
    messages: new Map<string, Message>(),
    timers: new Map<string, NodeJS.Timeout>(),
    dlq: new Map<string, DlqEntry>(),
    dedup: new Map<string, { messageId: string; expiresAt: number }>(),
    dlqSeq: 0,
    duplicateCredit: 0,
    closing: new AbortController(),
    inflight: new Set<Promise<void>>(),
  };

  /** Accepts a message (or reports the duplicate it matches) and schedules its first attempt. */
  function publish(message: Message, delayMs: number): { messageId: string; deduplicated?: true } {
    const now = Date.now();
    const previous = message.dedupKey === undefined ? undefined : state.dedup.get(message.dedupKey);
    if (previous && previous.expiresAt > now) {
      state.stats.deduplicated++;
      return { messageId: previous.messageId, deduplicated: true };
    }
    if (message.dedupKey !== undefined) {
      if (state.dedup.size >= 10_000) pruneDedup(now);
      state.dedup.set(message.dedupKey, { messageId: message.messageId, expiresAt: now + DEDUP_WINDOW_MS });
    }
    if (message.kind === "message") state.stats.published++;
    state.messages.set(message.messageId, message);
    schedule(message, delayMs * opts.timeScale + faultDelayMs(message));
    return { messageId: message.messageId };
  }

  function pruneDedup(now: number): void {
    for (const [key, entry] of state.dedup) if (entry.expiresAt <= now) state.dedup.delete(key);
  }

  /** `late`: a fixed extra wait; `reorder`: a random one in [0, delayMs), so messages overtake each other. */
  function faultDelayMs(message: Message): number {
    if (message.kind !== "message") return 0;
    const subject = pathOf(message.url);
    const late = opts.faults.take("late", subject);
    if (late) return late.delayMs ?? 1_000;
    const reorder = opts.faults.take("reorder", subject);
    return reorder ? opts.faults.draw() * (reorder.delayMs ?? 1_000) : 0;
  }

  function schedule(message: Message, waitMs: number): void {
    if (state.closing.signal.aborted) return;
    const step = Math.min(Math.max(0, waitMs), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      state.timers.delete(message.messageId);
      if (waitMs > MAX_TIMER_MS) return schedule(message, waitMs - MAX_TIMER_MS);
      const run = attempt(message).finally(() => state.inflight.delete(run));
      state.inflight.add(run);
    }, step);
    state.timers.set(message.messageId, timer);
  }

  async function attempt(message: Message): Promise<void> {
    if (!state.messages.has(message.messageId)) return;
    state.stats.deliveryAttempts++;
    if (message.retried > 0) state.stats.retries++;
    const outcome = await send(message);
    if (state.closing.signal.aborted || !state.messages.has(message.messageId)) return;
    if (outcome.ok) {
      state.stats.deliveries++;
      if (message.kind === "message" && duplicateDue()) {
        state.stats.duplicatesInjected++;
        await send(message);
      }
      const twice = message.kind === "message" ? opts.faults.take("duplicate", pathOf(message.url)) : null;
      if (twice) {
        state.stats.duplicatesInjected++;
        // Later and concurrently: the copy may overlap the next step the first delivery published.
        const copy = sleepMs(twice.delayMs ?? 0)
          .then(() => (state.closing.signal.aborted ? undefined : send(message)))
          .then(() => undefined)
          .finally(() => state.inflight.delete(copy));
        state.inflight.add(copy);
      }
      fireCallback(message, outcome);
      state.messages.delete(message.messageId);
      return;
    }
    fireCallback(message, outcome);
    if (outcome.nonRetryable || message.retried >= message.maxRetries) return deadLetter(message, outcome);
    const waitMs = nextRetryDelay(message, outcome);
    message.retried++;
    schedule(message, waitMs * opts.timeScale);
  }

  function send(message: Message): Promise<Outcome> {
    const path = pathOf(message.url);
    state.stats.byDestinationPath[path] = (state.stats.byDestinationPath[path] ?? 0) + 1;
    const drop = message.kind === "message" ? opts.faults.take("drop_delivery", path) : null;
    return deliverOnce(
      message,
      opts.keys.current,
      state.closing.signal,
      drop ? (drop.afterMs ?? 1_000) : undefined,
    );
  }

  /** Deterministic injection: the fraction accumulates, and each whole unit yields one duplicate. */
  function duplicateDue(): boolean {
    state.duplicateCredit += opts.duplicateFraction;
    if (state.duplicateCredit < 1 - 1e-9) return false;
    state.duplicateCredit -= 1;
    return true;
  }

  function deadLetter(message: Message, outcome: Outcome): void {
    state.messages.delete(message.messageId);
    const dlqId = `${Date.now()}-${state.dlqSeq++}`;
    state.dlq.set(dlqId, { dlqId, message, response: outcome, movedAt: Date.now() });
    state.stats.dlq++;
    if (message.kind === "message" && message.failureCallback) {
      enqueueCallback(message, outcome, message.failureCallback, { dlqId });
    }
  }

  /** The callback fires after every attempt, success or failure (consumers compare retried/maxRetries). */
  function fireCallback(message: Message, outcome: Outcome): void {
    if (message.kind === "message" && message.callback)
      enqueueCallback(message, outcome, message.callback, {});
  }

  function enqueueCallback(
    message: Message,
    outcome: Outcome,
    spec: NonNullable<Message["callback"]>,
    extra: CallbackPayloadExtra,
  ): void {
    const payload = callbackPayload(message, outcome, extra, opts.callbackBodyMaxBytes);
    const callback = callbackMessage(message, spec, payload);
    state.stats.callbacks++;
    publish(callback, spec.delayMs ?? 0);
  }

  function cancel(messageId: string): boolean {
    if (!state.messages.delete(messageId)) return false;
    clearTimeout(state.timers.get(messageId));
    state.timers.delete(messageId);
    state.stats.cancelled++;
    return true;
  }

  async function close(): Promise<void> {
    state.closing.abort();
    for (const timer of state.timers.values()) clearTimeout(timer);
    state.timers.clear();
    await Promise.allSettled([...state.inflight]);
  }

  return { state, publish, cancel, close };
}

/** `Upstash-Retry-Delay` (ms, `retried` = retries so far), else Retry-After, else QStash's e^(2.5n) s. */
function nextRetryDelay(message: Message, outcome: Outcome): number {
  if (outcome.retryAfterMs !== undefined) return outcome.retryAfterMs;
  if (message.retryDelayExpression !== undefined) {
    try {
      return evaluateRetryDelay(message.retryDelayExpression, message.retried);
    } catch {
      // Validated at publish time; fall through to the default backoff just in case.
    }
  }
  return Math.min(86_400, Math.exp(2.5 * (message.retried + 1))) * 1000;
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
