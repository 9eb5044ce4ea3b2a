// In-memory state of one simulator instance (nothing is process-global), plus its timers.
import type { ContextWindows } from "./context-window.ts";
import type { Faults } from "../faults.ts";
import type { SimContainer, SimFile, SimVectorStore } from "./files-state.ts";
import type { Item } from "./items.ts";
import type { Script, ScriptToolCall } from "./script.ts";

export type Status = "queued" | "in_progress" | "completed" | "failed" | "cancelled" | "incomplete";
export type FinalStatus = "completed" | "failed" | "incomplete";

export const isTerminal = (status: Status): boolean =>
  status === "completed" || status === "failed" || status === "cancelled" || status === "incomplete";

/** What the simulated model will do, decided at creation from the input (README "Scripting"). */
export type Plan = {
  delayMs: number;
  chunks: number;
  text: string;
  toolCalls: ScriptToolCall[];
  fail: { code: string; message: string } | null;
  incomplete: string | null;
  annotations: boolean;
  /** Output items that come before the answer: `file_search_call`, `code_interpreter_call`. */
  toolItems: Item[];
  /** Annotations of the answer's text (file_search citations, generated container files). */
  citations: Record<string, unknown>[];
  script: Script | null;
};

export type SimEvent = {
  atMs: number;
  data: { type: string; sequence_number: number; [key: string]: unknown };
};

export type Usage = {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
};

export type ResponseRecord = {
  id: string;
  createdAtMs: number;
  inProgressAtMs: number;
  terminalAtMs: number;
  /** Exact wall-clock time the terminal status was reached (what benchmarks measure from). */
  completedAtMs: number | null;
  status: Status;
  final: FinalStatus;
  background: boolean;
  stream: boolean;
  /** Request fields echoed on the response object. */
  params: Record<string, unknown>;
  conversationId: string | null;
  previousResponseId: string | null;
  input: Item[];
  context: Item[];
  output: Item[];
  usage: Usage;
  plan: Plan;
  events: SimEvent[];
  listeners: Set<() => void>;
  /** Who sent the create (RouteContext `via`), and whether its answer was dropped (a fault). */
  via?: "qstash" | "direct";
  answerDropped?: boolean;
};

export type Conversation = {
  id: string;
  createdAt: number;
  metadata: Record<string, string>;
  items: Item[];
  activeResponseId: string | null;
};

export type WebhookConfig = { url: string; secret: string };

export type SimStats = {
  requests: number;
  byEndpoint: Record<string, number>;
  unauthorized: number;
  responsesCreated: number;
  responsesByStatus: Record<string, number>;
  conversationsCreated: number;
  conversationLocked: number;
  httpErrorsInjected: number;
  filesUploaded: number;
  vectorStoresCreated: number;
  containersCreated: number;
  streamsOpened: number;
  webhooks: { attempts: number; delivered: number; failed: number };
};

export const freshStats = (): SimStats => ({
  requests: 0,
  byEndpoint: {},
  unauthorized: 0,
  responsesCreated: 0,
  responsesByStatus: {},
  conversationsCreated: 0,
  conversationLocked: 0,
  httpErrorsInjected: 0,
  filesUploaded: 0,
  vectorStoresCreated: 0,
  containersCreated: 0,
  streamsOpened: 0,
  webhooks: { attempts: 0, delivered: 0, failed: 0 },
});

export type SimState = {
  responses: Map<string, ResponseRecord>;
  conversations: Map<string, Conversation>;
  files: Map<string, SimFile>;
  vectorStores: Map<string, SimVectorStore>;
  containers: Map<string, SimContainer>;
  /** Vector store ingestion time per file, before time scaling (a file's `#sim` may say otherwise). */
  ingestDelayMs: number;
  /** `http_error` attempts already answered, per script text. */
  httpErrorsServed: Map<string, number>;
  stats: SimStats;
  timers: Set<ReturnType<typeof setTimeout>>;
  aborts: Set<AbortController>;
  closed: boolean;
  /** Bumped by reset, so work started before it (webhook retries) stops. */
  epoch: number;
  webhook: WebhookConfig | null;
  timeScale: number;
  defaultDelayMs: number;
  /** Refuse a create without `input` even on a conversation (the stricter API some expected). */
  requireInput: boolean;
  /** Each model's context window (context-window.ts). */
  contextWindows: ContextWindows;
  /** Fault switches (README: slow creates, dropped connections, errors, cut streams, webhook faults). */
  faults: Faults;
};

/** A timer the instance can clear on reset/close. */
export function later(state: SimState, ms: number, fn: () => void): ReturnType<typeof setTimeout> {
  const timer = setTimeout(
    () => {
      state.timers.delete(timer);
      fn();
    },
    Math.max(0, ms),
  );
  state.timers.add(timer);
  return timer;
}

export function notify(record: ResponseRecord): void {
  for (const listener of [...record.listeners]) listener();
}

/** Resolves when the record changes (status, events) or after `maxMs`, whichever is first. */
export function waitChange(state: SimState, record: ResponseRecord, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      record.listeners.delete(done);
      clearTimeout(timer);
      state.timers.delete(timer);
      resolve();
    };
    const timer = later(state, Math.min(maxMs, 60_000), done);
    record.listeners.add(done);
  });
}

/** Resets everything: stops timers and in-flight webhooks, wakes waiters so they see `closed`. */
export function clearState(state: SimState): void {
  for (const timer of state.timers) clearTimeout(timer);
  state.timers.clear();
  for (const controller of state.aborts) controller.abort();
  state.aborts.clear();
  for (const record of state.responses.values()) notify(record);
  state.responses.clear();
  state.conversations.clear();
  state.files.clear();
  state.vectorStores.clear();
  state.containers.clear();
  state.httpErrorsServed.clear();
  state.stats = freshStats();
  state.epoch++;
}
