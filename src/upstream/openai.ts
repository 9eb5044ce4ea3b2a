/**
 * The only module that imports `openai`. A narrow adapter over Responses + Conversations, with
 * vendor errors translated into `UpstreamError` (retryable or not) at this boundary.
 */
import OpenAI from "openai";
import { MAX_CONTAINER_FILES } from "../engine/files";
import type {
  Annotation,
  ResponseFormat,
  RunToolResources,
  TextPart,
  ToolChoice,
  ToolDef,
} from "../engine/types";
import {
  hasInput,
  type ObservedResponse,
  RESPONSE_METADATA,
  type ResponseRequest,
} from "../engine/upstream-types";
import type { SeenItem } from "../engine/lost-create";
import { modelOptions } from "../engine/models";
import { EventScanner } from "./sse";

export class UpstreamError extends Error {
  readonly retryable: boolean;
  readonly code: string;
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  constructor(opts: {
    message: string;
    code: string;
    retryable: boolean;
    status: number | null;
    retryAfterMs: number | null;
  }) {
    super(opts.message);
    this.name = "UpstreamError";
    this.retryable = opts.retryable;
    this.code = opts.code;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Result of watching a response for a while: the terminal response, or null when time ran out. */
export interface Watched {
  response: ObservedResponse | null;
  cursor: number | null;
}

export interface Upstream {
  createConversation(): Promise<string>;
  createResponse(req: ResponseRequest): Promise<ObservedResponse>;
  /**
   * Create a background response and stream it until `untilMs`. `onProgress` runs on the
   * lifecycle events before the end (`response.created`: its id is known; `response.in_progress`).
   */
  createAndStream(
    req: ResponseRequest,
    untilMs: number,
    onProgress: OnProgress,
    onText?: OnText,
  ): Promise<Watched>;
  getResponse(id: string): Promise<ObservedResponse>;
  /** Append items to a conversation (used to answer function calls a run left open). */
  addItems(
    conversationId: string,
    items: { type: "function_call_output"; call_id: string; output: string }[],
  ): Promise<void>;
  streamResponse(
    id: string,
    cursor: number | null,
    untilMs: number,
    onProgress: OnProgress,
    onText?: OnText,
  ): Promise<Watched>;
  cancelResponse(id: string): Promise<ObservedResponse>;
  /**
   * Follow a response's event stream from its start (read-only, for Assistants-style streaming to a
   * client) until it ends or `signal` aborts. Needs a response created with `stream: true`.
   */
  follow(id: string, signal: AbortSignal, onEvent: (e: FollowEvent) => void | Promise<void>): Promise<void>;
  /** Ids of a response's input items, in order. */
  inputItemIds(responseId: string): Promise<string[]>;
  /** A conversation's newest `limit` items, newest first (engine/lost-create.ts reads them). */
  recentItems(conversationId: string, limit: number): Promise<SeenItem[]>;
  deleteItem(conversationId: string, itemId: string): Promise<void>;
  deleteConversation(conversationId: string): Promise<void>;
  /** Check an OpenAI webhook's Standard Webhooks signature with `secret`; the event, or null if forged. */
  verifyWebhook(body: string, headers: Headers, secret: string): Promise<unknown | null>;
  /**
   * The HTTP request that creates `req` as a foreground response (it answers when the response has
   * ended), for someone else to send: QStash, in the `call` strategy. Carries the API key.
   */
  callRequest(req: ResponseRequest): { url: string; headers: Record<string, string>; body: string };
}

/** What a create sent by someone else (QStash) came to, read from OpenAI's HTTP answer. */
export type CallAnswer =
  | { kind: "response"; response: ObservedResponse }
  /** The answer was cut (QStash's message size): the response, by id, must be fetched. */
  | { kind: "truncated"; responseId: string }
  | { kind: "error"; error: UpstreamError };

export type OnProgress = (r: ObservedResponse, cursor: number) => Promise<void>;
/** Text the response wrote (`response.output_text.delta`), for runs that asked for `message.delta`. */
export type OnText = (delta: string, cursor: number) => Promise<void>;

/** What an Assistants stream needs from a response's events: its answer messages as they are written. */
export type FollowEvent =
  | { type: "message_started"; item_id: string }
  | { type: "text_delta"; item_id: string; content_index: number; delta: string }
  | { type: "message_done"; item_id: string; content: TextPart[] };

const STREAM_TERMINAL = new Set(["response.completed", "response.failed", "response.incomplete"]);
const STREAM_PROGRESS = new Set(["response.created", "response.queued", "response.in_progress"]);

export function createUpstream(cfg: { apiKey: string; baseURL: string }): Upstream {
  const client = new OpenAI({ apiKey: cfg.apiKey, baseURL: cfg.baseURL, maxRetries: 0, timeout: 30_000 });
  const body = (req: ResponseRequest) => responseBody(req, { background: true });

  return {
    createConversation: () => translate(async () => (await client.conversations.create({})).id),
    createResponse: (req) =>
      translate(() =>
        withInput(req, async (r) => observe(await client.responses.create({ ...body(r), stream: false }))),
      ),
    getResponse: (id) => translate(async () => observe(await client.responses.retrieve(id))),
    addItems: (conversationId, items) =>
      translate(async () => {
        await client.conversations.items.create(conversationId, { items });
      }),
    cancelResponse: (id) => translate(async () => observe(await client.responses.cancel(id))),
    follow: (id, signal, onEvent) =>
      translate(async () => {
        const stream = await client.responses.retrieve(id, { stream: true }, { signal });
        for await (const event of stream) {
          const e = toFollowEvent(event);
          if (e) await onEvent(e);
          if (STREAM_TERMINAL.has(event.type)) return;
        }
      }),
    inputItemIds: (responseId) =>
      translate(async () => {
        const ids: string[] = [];
        for await (const item of client.responses.inputItems.list(responseId, { order: "asc", limit: 100 }))
          if (item.id) ids.push(item.id);
        return ids;
      }),
    recentItems: (conversationId, limit) =>
      translate(async () => {
        const page = await client.conversations.items.list(conversationId, { order: "desc", limit });
        return page.data.map(seenItem);
      }),
    deleteItem: (conversationId, itemId) =>
      translate(async () => {
        await client.conversations.items.delete(itemId, { conversation_id: conversationId });
      }),
    deleteConversation: (conversationId) =>
      translate(async () => {
        await client.conversations.delete(conversationId);
      }),
    verifyWebhook: async (body, headers, secret) => {
      try {
        return await client.webhooks.unwrap(body, headers, secret);
      } catch {
        // A bad or stale signature, a missing header, a body that is not JSON: all unverified.
        return null;
      }
    },
    callRequest: (req) => ({
      url: `${cfg.baseURL}/responses`,
      headers: { Authorization: `Bearer ${cfg.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify(responseBody(req, { background: false })),
    }),
    createAndStream: (req, untilMs, onProgress, onText) =>
      translate(() =>
        withInput(req, (r) =>
          watch(
            untilMs,
            null,
            (signal) => client.responses.create({ ...body(r), stream: true }, { signal }).asResponse(),
            onProgress,
            { awaitCreated: true, ...(onText ? { onText } : {}) },
          ),
        ),
      ),
    streamResponse: (id, cursor, untilMs, onProgress, onText) =>
      translate(() =>
        watch(
          untilMs,
          cursor,
          (signal) =>
            client.responses
              .retrieve(
                id,
                { stream: true, ...(cursor !== null ? { starting_after: cursor } : {}) },
                { signal },
              )
              .asResponse(),
          onProgress,
          onText ? { onText } : {},
        ),
      ),
  };
}

/**
 * What a response with nothing new carries when the upstream insists on an `input`: one developer
 * message that asks the model to take its turn (it joins the conversation as an item).
 */
const TAKE_YOUR_TURN = [
  { role: "developer", content: "Continue the conversation: reply to it as the assistant." },
] as unknown as ResponseRequest["input"]; // a role the engine's own input messages never have

/** Set once an upstream refused a create without `input` (per isolate): later ones send the nudge. */
let upstreamNeedsInput = false;

/**
 * Create a response that may have no input of its own. Sent without `input` first; an upstream that
 * answers 400 about the missing `input` gets it again with a short developer message instead.
 */
async function withInput<T>(req: ResponseRequest, create: (req: ResponseRequest) => Promise<T>): Promise<T> {
  if (hasInput(req.input)) return create(req);
  if (upstreamNeedsInput) return create({ ...req, input: TAKE_YOUR_TURN });
  try {
    return await create(req);
  } catch (err) {
    if (!(err instanceof OpenAI.BadRequestError) || err.param !== "input") throw err;
    upstreamNeedsInput = true;
    return create({ ...req, input: TAKE_YOUR_TURN });
  }
}

/**
 * The JSON body of a create for `req`: `background` for the responses a Worker step follows, or a
 * foreground create (the `call` strategy: QStash holds the request until the response ends).
 * Sampling parameters go only to models that accept them and only when the assistant or the run set
 * them; a reasoning effort only to reasoning models (engine/models.ts).
 */
export function responseBody(
  req: ResponseRequest,
  mode: { background: boolean },
): Omit<OpenAI.Responses.ResponseCreateParamsNonStreaming, "stream"> {
  const accepts = modelOptions(req.model);
  return {
    model: req.model,
    // Nothing new for the model (the assistant speaks first, a retry, "regenerate"): the
    // conversation alone is the context, as the published spec allows (no field is required).
    ...(hasInput(req.input) ? { input: req.input } : {}),
    conversation: req.conversation,
    background: mode.background,
    store: true,
    truncation: req.truncation,
    metadata: req.metadata,
    ...toolsOf(req),
    ...textFormat(req.response_format),
    ...(req.instructions ? { instructions: req.instructions } : {}),
    ...(accepts.sampling && req.temperature !== null ? { temperature: req.temperature } : {}),
    ...(accepts.sampling && req.top_p !== null ? { top_p: req.top_p } : {}),
    ...(req.max_output_tokens !== null ? { max_output_tokens: req.max_output_tokens } : {}),
    ...(accepts.reasoning && req.reasoning_effort ? { reasoning: { effort: req.reasoning_effort } } : {}),
  } as Omit<OpenAI.Responses.ResponseCreateParamsNonStreaming, "stream">;
}

const WATCHED = new Set([...STREAM_PROGRESS, ...STREAM_TERMINAL]);
/** The text's deltas too: parsed only for runs that asked for `message.delta` (a cost per token). */
const TEXT_DELTA = "response.output_text.delta";
const WATCHED_TEXT = new Set([...WATCHED, TEXT_DELTA]);

/**
 * Longest a create waits for its answer (the first stream event, which names the response), past
 * the step's budget if need be: aborting sooner would leave a response running upstream that
 * threadhook never learns the id of (issue 13, finding 1). The client's own timeout.
 */
export const CREATE_ANSWER_MAX_MS = 30_000;

/**
 * Read a response's event stream until its terminal event, or abort it at `untilMs`. Reads the raw
 * body with `EventScanner`: only the lifecycle and terminal events are parsed (see sse.ts).
 * `awaitCreated` (a create): `untilMs` applies only once the response's id has been seen; before
 * that the stream is held up to CREATE_ANSWER_MAX_MS, whatever the budget.
 */
async function watch(
  untilMs: number,
  cursor: number | null,
  open: (signal: AbortSignal) => PromiseLike<Response>,
  onProgress: OnProgress,
  opts: { awaitCreated?: boolean; onText?: OnText } = {},
): Promise<Watched> {
  const controller = new AbortController();
  const abortAt = (ms: number) => setTimeout(() => controller.abort(), Math.max(0, ms - Date.now()));
  let timer = abortAt(opts.awaitCreated ? Date.now() + CREATE_ANSWER_MAX_MS : untilMs);
  let seenId = !opts.awaitCreated;
  const scanner = new EventScanner(opts.onText ? WATCHED_TEXT : WATCHED);
  const last = () => scanner.cursor() ?? cursor;
  try {
    const body = (await open(controller.signal)).body;
    if (!body) return { response: null, cursor };
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        for (const event of scanner.push(done ? null : value)) {
          if (event.type === TEXT_DELTA && opts.onText) {
            await opts.onText(String(event.data.delta ?? ""), last() ?? 0);
            continue;
          }
          const response = event.data.response as OpenAI.Responses.Response | undefined;
          if (!response) continue;
          if (STREAM_TERMINAL.has(event.type)) return { response: observe(response), cursor: last() };
          await onProgress(observe(response), last() ?? 0);
          if (!seenId) {
            seenId = true;
            clearTimeout(timer);
            timer = abortAt(untilMs);
          }
        }
        if (done) return { response: null, cursor: last() };
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  } catch (err) {
    if (controller.signal.aborted) return { response: null, cursor: last() };
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function toFollowEvent(event: OpenAI.Responses.ResponseStreamEvent): FollowEvent | null {
  if (event.type === "response.output_item.added" && event.item.type === "message" && event.item.id)
    return { type: "message_started", item_id: event.item.id };
  if (event.type === "response.output_text.delta")
    return {
      type: "text_delta",
      item_id: event.item_id,
      content_index: event.content_index,
      delta: event.delta,
    };
  if (event.type === "response.output_item.done" && event.item.type === "message" && event.item.id)
    return { type: "message_done", item_id: event.item.id, content: textParts(event.item.content) };
  return null;
}

function textParts(parts: OpenAI.Responses.ResponseOutputMessage["content"]): TextPart[] {
  return parts.flatMap((part) =>
    part.type === "output_text"
      ? [
          {
            type: "text" as const,
            text: { value: part.text, annotations: toAnnotations(part.annotations ?? [], part.text) },
          },
        ]
      : [],
  );
}

export function observe(r: OpenAI.Responses.Response): ObservedResponse {
  const content: TextPart[] = [];
  const tool_calls: ObservedResponse["tool_calls"] = [];
  let message_id: string | null = null;
  const containers: string[] = [];
  for (const item of r.output ?? []) {
    if (item.type === "function_call")
      tool_calls.push({ call_id: item.call_id, name: item.name, arguments: item.arguments });
    if (item.type === "code_interpreter_call" && item.container_id) containers.push(item.container_id);
    if (item.type !== "message") continue;
    message_id ??= item.id;
    content.push(...textParts(item.content));
  }
  return {
    id: r.id,
    tool_calls,
    message_id,
    status: (r.status ?? "queued") as ObservedResponse["status"],
    content,
    usage: r.usage
      ? {
          input_tokens: r.usage.input_tokens,
          output_tokens: r.usage.output_tokens,
          total_tokens: r.usage.total_tokens,
        }
      : null,
    error: r.error ? { code: String(r.error.code), message: r.error.message } : null,
    incomplete_reason: r.incomplete_details?.reason ?? null,
    owner: ownerOf(r.metadata),
    create_key: r.metadata?.[RESPONSE_METADATA.create] ?? null,
    ...(containers.length > 0 ? { containers } : {}),
  };
}

/** A conversation item as the lost-create look-up compares it (engine/lost-create.ts). */
function seenItem(item: OpenAI.Conversations.ConversationItem): SeenItem {
  const seen: SeenItem = { id: item.id ?? "", type: item.type };
  if (item.type === "message") {
    const parts = item.content as { type: string; text?: string }[];
    const texts = parts.flatMap((p) =>
      typeof p.text === "string" && p.type.endsWith("text") ? [p.text] : [],
    );
    return { ...seen, role: item.role, text: texts.join(""), other_parts: parts.length - texts.length };
  }
  if (item.type === "function_call")
    return { ...seen, call_id: item.call_id, name: item.name, arguments: item.arguments };
  if (item.type === "function_call_output")
    return {
      ...seen,
      call_id: item.call_id,
      output: typeof item.output === "string" ? item.output : JSON.stringify(item.output),
    };
  return seen;
}

function ownerOf(metadata: OpenAI.Responses.Response["metadata"]): ObservedResponse["owner"] {
  const tenant = metadata?.[RESPONSE_METADATA.tenant];
  const run_id = metadata?.[RESPONSE_METADATA.run];
  return tenant && run_id ? { tenant, run_id } : null;
}

function toAnnotations(list: OpenAI.Responses.ResponseOutputText["annotations"], text: string): Annotation[] {
  const out: Annotation[] = [];
  for (const a of list) {
    if (a.type === "file_citation") {
      out.push({
        type: "file_citation",
        text: a.filename ?? "",
        start_index: a.index,
        end_index: a.index,
        file_citation: { file_id: a.file_id },
      });
    } else if (a.type === "file_path") {
      out.push({
        type: "file_path",
        text: "",
        start_index: a.index,
        end_index: a.index,
        file_path: { file_id: a.file_id },
      });
    } else if (a.type === "container_file_citation") {
      // A container's file: the run copies it out and swaps in the copy's id (engine/files.ts).
      out.push({
        type: "file_path",
        text: text.slice(a.start_index, a.end_index) || a.filename,
        start_index: a.start_index,
        end_index: a.end_index,
        file_path: { file_id: a.file_id },
        container_id: a.container_id,
      });
    }
  }
  return out;
}

/**
 * Read OpenAI's answer to a create someone else sent (`status` 1xx–5xx; the caller handles "no
 * answer"): the response, a cut answer's response id, or the error as `UpstreamError`, classified
 * as the SDK's errors are (429, 5xx, 408/409 and `conversation_locked` retryable).
 */
export function readCallAnswer(status: number, headers: Record<string, string[]>, body: string): CallAnswer {
  if (status >= 200 && status < 300) {
    try {
      return { kind: "response", response: observe(JSON.parse(body) as OpenAI.Responses.Response) };
    } catch {
      const id = /"id"\s*:\s*"(resp_[A-Za-z0-9_-]+)"/.exec(body.slice(0, 512))?.[1];
      if (id) return { kind: "truncated", responseId: id };
      return {
        kind: "error",
        error: callError(502, "server_error", "unreadable answer from OpenAI", null, true),
      };
    }
  }
  let error: { message?: unknown; code?: unknown } = {};
  try {
    error = (JSON.parse(body) as { error?: typeof error }).error ?? {};
  } catch {}
  const header = (name: string) =>
    Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1]?.[0] ?? null;
  const retryAfterS = Number(header("retry-after"));
  const retryAfterMs = Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : null;
  const code = typeof error.code === "string" ? error.code : null;
  const message = typeof error.message === "string" ? error.message : `OpenAI answered ${status}`;
  const locked = code === "conversation_locked";
  const retryable = locked || status === 408 || status === 409 || status === 429 || status >= 500;
  const mapped =
    status === 429 ? "rate_limit_exceeded" : status >= 500 ? "server_error" : (code ?? "invalid_prompt");
  return {
    kind: "error",
    error: callError(status, mapped, message, locked ? (retryAfterMs ?? 1000) : retryAfterMs, retryable),
  };
}

const callError = (
  status: number,
  code: string,
  message: string,
  retryAfterMs: number | null,
  retryable: boolean,
) => new UpstreamError({ message, code, retryable, status, retryAfterMs });

export async function translate<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toUpstreamError(err);
  }
}

export function toUpstreamError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (err instanceof OpenAI.APIConnectionError || !(err instanceof OpenAI.APIError)) {
    const message = err instanceof Error ? err.message : String(err);
    return new UpstreamError({
      message: `OpenAI unreachable: ${message}`,
      code: "server_error",
      retryable: true,
      status: null,
      retryAfterMs: null,
    });
  }
  const status = err.status ?? null;
  const code = typeof err.code === "string" ? err.code : null;
  const retryAfterS = Number(err.headers?.get("retry-after"));
  const retryAfterMs = Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : null;
  const locked = code === "conversation_locked";
  const retryable =
    locked || status === 408 || status === 409 || status === 429 || (status !== null && status >= 500);
  return new UpstreamError({
    message: err.message,
    code:
      status === 429
        ? "rate_limit_exceeded"
        : (status ?? 500) >= 500
          ? "server_error"
          : (code ?? "invalid_prompt"),
    retryable,
    status,
    retryAfterMs: locked ? (retryAfterMs ?? 1000) : retryAfterMs,
  });
}

/**
 * Assistants-shaped tool → the flat Responses shape (threadhook's `endpoint` stays home). The hosted
 * tools get the run's resources: file_search its vector stores, the code interpreter a container
 * with its files.
 */
function toResponsesTool(t: ToolDef, resources: RunToolResources | undefined): Record<string, unknown> {
  if (t.type === "function") {
    const f = t.function;
    return {
      type: "function",
      name: f.name,
      description: f.description ?? null,
      parameters: f.parameters ?? { type: "object", properties: {} },
      strict: f.strict ?? false,
    };
  }
  if (t.type === "file_search")
    return {
      type: "file_search",
      vector_store_ids: [
        ...new Set([...(resources?.vector_store_ids ?? []), ...(t.file_search?.vector_store_ids ?? [])]),
      ],
      ...(t.file_search?.max_num_results ? { max_num_results: t.file_search.max_num_results } : {}),
    };
  const fileIds = (resources?.code_interpreter_file_ids ?? []).slice(-MAX_CONTAINER_FILES);
  return {
    type: "code_interpreter",
    container: { type: "auto", ...(fileIds.length > 0 ? { file_ids: fileIds } : {}) },
  };
}

/**
 * The request's tools. A file_search tool with no vector store to search is left out (the Responses
 * tool needs stores; on the Assistants API such a run simply found nothing), and a tool_choice that
 * named it falls back to `auto`.
 */
function toolsOf(req: ResponseRequest): Record<string, unknown> {
  const tools = req.tools.map((t) => toResponsesTool(t, req.tool_resources));
  const kept = tools.filter((t) => t.type !== "file_search" || (t.vector_store_ids as string[]).length > 0);
  if (kept.length === 0) return {};
  const dropped = kept.length < tools.length;
  const choice = typeof req.tool_choice === "object" && req.tool_choice.type === "file_search" && dropped;
  return {
    tools: kept,
    tool_choice: toToolChoice(choice ? "auto" : req.tool_choice),
    parallel_tool_calls: req.parallel_tool_calls,
  };
}

function toToolChoice(c: ToolChoice): unknown {
  if (typeof c === "string") return c;
  return c.type === "function" ? { type: "function", name: c.function.name } : { type: c.type };
}

function textFormat(f: ResponseFormat): Record<string, unknown> {
  if (typeof f !== "object" || f.type === "text") return {};
  if (f.type === "json_object") return { text: { format: { type: "json_object" } } };
  const s = f.json_schema;
  return {
    text: {
      format: {
        type: "json_schema",
        name: s.name,
        schema: s.schema ?? {},
        strict: s.strict ?? false,
        ...(s.description ? { description: s.description } : {}),
      },
    },
  };
}
