// QStash v2 API routes: publish, enqueue, batch, messages and keys.
import type http from "node:http";
import { dlqRoute } from "./dlq.ts";
import type { Engine } from "./engine.ts";
import { error, getHeader, type HeaderList, parseJson, type Reply, requestHeaders } from "./http.ts";
import { buildMessage, messageView, type PublishInput } from "./message.ts";
import type { createSchedules } from "./schedules.ts";

type Schedules = ReturnType<typeof createSchedules>;

export type RouteContext = {
  engine: Engine;
  schedules: Schedules;
  keys: { current: string; next: string };
  rotateKeys(): void;
};

export type ApiRequest = {
  req: http.IncomingMessage;
  method: string;
  /** Raw path (no decoding, `//` kept) and the raw query string without its `?`. */
  rawPath: string;
  rawQuery: string;
  query: URLSearchParams;
  body: Buffer;
};

/** The route label used by the per-route request counters. */
export function routeLabel(method: string, rawPath: string): string {
  const parts = rawPath.split("/").filter(Boolean);
  const fixed = parts[1] === "dlq" && parts[2] === "retry" ? 3 : 2;
  return `${method} /${parts.slice(0, fixed).join("/")}`;
}

/** How many messages a request publishes (a batch: its elements), for the quota; 0 for other routes. */
export function isPublish(method: string, rawPath: string, body: Buffer): number {
  if (method !== "POST") return 0;
  if (rawPath.startsWith("/v2/publish/") || rawPath.startsWith("/v2/enqueue/")) return 1;
  if (rawPath !== "/v2/batch") return 0;
  const items = parseJson(body);
  return Array.isArray(items) ? Math.max(1, items.length) : 1;
}

export function route(ctx: RouteContext, api: ApiRequest): Reply {
  const { method, rawPath } = api;
  if (method === "POST" && rawPath.startsWith("/v2/publish/")) {
    return publishOne(ctx, api, rawPath.slice("/v2/publish/".length), undefined);
  }
  if (method === "POST" && rawPath.startsWith("/v2/enqueue/")) {
    const rest = rawPath.slice("/v2/enqueue/".length);
    const slash = rest.indexOf("/");
    if (slash <= 0) return error(400, "queue name and destination are required");
    return publishOne(ctx, api, rest.slice(slash + 1), decodeURIComponent(rest.slice(0, slash)));
  }
  if (method === "POST" && rawPath === "/v2/batch") return batch(ctx, api);
  if (method === "POST" && rawPath.startsWith("/v2/schedules/")) {
    const { destination, queryHeaders } = splitDestination(
      rawPath.slice("/v2/schedules/".length),
      api.rawQuery,
    );
    const input: PublishInput = {
      destination,
      headers: [...requestHeaders(api.req), ...queryHeaders],
      body: api.body,
      callerIP: callerIp(api.req),
    };
    return ctx.schedules.route("POST", [destination], () => input);
  }
  const parts = rawPath.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "v2") return error(404, "not found");
  if (parts[1] === "messages") return messagesRoute(ctx.engine, method, parts[2], api.query);
  if (parts[1] === "dlq") return dlqRoute(ctx.engine, method, parts.slice(2), api.query);
  if (parts[1] === "schedules")
    return ctx.schedules.route(method, parts.slice(2), () => {
      throw new Error("unreachable: schedules are created above");
    });
  if (parts[1] === "keys" && method === "GET" && parts.length === 2) return { status: 200, body: ctx.keys };
  if (parts[1] === "keys" && method === "POST" && parts[2] === "rotate") {
    ctx.rotateKeys();
    return { status: 200, body: ctx.keys };
  }
  return error(404, "not found");
}

function publishOne(ctx: RouteContext, api: ApiRequest, rawDestination: string, queueName?: string): Reply {
  const { destination, queryHeaders } = splitDestination(rawDestination, api.rawQuery);
  // Real headers win over the same option given as a query parameter.
  const headers = [...requestHeaders(api.req), ...queryHeaders];
  const result = accept(ctx, {
    destination,
    headers,
    body: api.body,
    queueName,
    callerIP: callerIp(api.req),
  });
  if ("error" in result) return error(400, result.error);
  return { status: result.deduplicated ? 202 : 200, body: result };
}

function accept(
  ctx: RouteContext,
  input: PublishInput,
): { messageId: string; deduplicated?: true } | { error: string } {
  const built = buildMessage(input, Date.now());
  if ("error" in built) return built;
  return ctx.engine.publish(built.message, built.delayMs);
}

/** The destination is the raw path remainder plus the query, minus the token and `upstash-*` options. */
function splitDestination(rawDestination: string, rawQuery: string) {
  const kept: string[] = [];
  const queryHeaders: HeaderList = [];
  for (const part of rawQuery ? rawQuery.split("&") : []) {
    const [rawKey = "", rawValue = ""] = part.split(/=(.*)/s);
    const key = safeDecode(rawKey);
    if (key === "qstash_token") continue;
    if (key.toLowerCase().startsWith("upstash-")) queryHeaders.push([key, safeDecode(rawValue)]);
    else kept.push(part);
  }
  // A percent-encoded destination (`https%3A%2F%2F…`) is accepted too.
  const base = /^https?%3A/i.test(rawDestination) ? safeDecode(rawDestination) : rawDestination;
  return { destination: kept.length > 0 ? `${base}?${kept.join("&")}` : base, queryHeaders };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

type BatchItem = { destination?: unknown; headers?: unknown; body?: unknown; queue?: unknown };

function batch(ctx: RouteContext, api: ApiRequest): Reply {
  const items = parseJson(api.body);
  if (!Array.isArray(items)) return error(400, "request body must be a JSON array of messages");
  const inputs: PublishInput[] = [];
  for (const item of items as BatchItem[]) {
    if (typeof item?.destination !== "string") return error(400, "destination is required");
    const headers = Object.entries((item.headers ?? {}) as Record<string, unknown>).map(
      ([name, value]): [string, string] => [name, String(value)],
    );
    const body = typeof item.body === "string" ? Buffer.from(item.body) : Buffer.alloc(0);
    const queueName = typeof item.queue === "string" ? item.queue : undefined;
    inputs.push({ destination: item.destination, headers, body, queueName, callerIP: callerIp(api.req) });
  }
  // Validate every element first so a bad one rejects the whole batch without publishing any.
  for (const input of inputs) {
    const built = buildMessage(input, Date.now());
    if ("error" in built) return error(400, built.error);
  }
  return { status: 200, body: inputs.map((input) => accept(ctx, input)) };
}

function messagesRoute(
  engine: Engine,
  method: string,
  id: string | undefined,
  query: URLSearchParams,
): Reply {
  if (id === undefined) {
    if (method !== "DELETE") return error(405, "method not allowed");
    return { status: 200, body: { cancelled: bulkCancel(engine, query) } };
  }
  const message = engine.state.messages.get(id);
  if (!message) return error(404, `message ${id} not found`);
  if (method === "GET") return { status: 200, body: messageView(message) };
  if (method === "DELETE") return { status: 200, body: { cancelled: engine.cancel(id) ? 1 : 0 } };
  return error(405, "method not allowed");
}

/** `messageIds` (repeated), or filters `url`, `queueName`, `label`; no filter cancels everything. */
function bulkCancel(engine: Engine, query: URLSearchParams): number {
  const ids = query.getAll("messageIds");
  const url = query.getAll("url");
  const queue = query.getAll("queueName");
  const label = query.get("label");
  let cancelled = 0;
  for (const message of [...engine.state.messages.values()]) {
    if (message.kind !== "message") continue;
    if (ids.length > 0 && !ids.includes(message.messageId)) continue;
    if (url.length > 0 && !url.includes(message.url)) continue;
    if (queue.length > 0 && !queue.includes(message.queueName ?? "")) continue;
    if (label !== null && !(message.labels ?? []).includes(label)) continue;
    if (engine.cancel(message.messageId)) cancelled++;
  }
  return cancelled;
}

function callerIp(req: http.IncomingMessage): string {
  const forwarded = getHeader(requestHeaders(req), "x-forwarded-for");
  return forwarded?.split(",")[0]?.trim() ?? req.socket.remoteAddress ?? "";
}
