// Turning a publish request (destination + Upstash-* headers + body) into a stored message.
import { createHash } from "node:crypto";
import { parseDuration } from "./duration.ts";
import { evaluateRetryDelay } from "./expr.ts";
import { getHeader, type HeaderList, multiValued } from "./http.ts";
import { randomId } from "./jwt.ts";

/** Where and how a callback (or failure callback) message is sent. */
export type CallbackSpec = {
  url: string;
  method: string;
  retries?: number;
  retryDelay?: string;
  timeoutMs?: number;
  delayMs?: number;
  forward: HeaderList;
};

export type Message = {
  messageId: string;
  url: string;
  method: string;
  /** Headers delivered to the destination: Content-Type and the forwarded ones, prefix removed. */
  deliver: HeaderList;
  body: Buffer;
  maxRetries: number;
  retryDelayExpression?: string;
  timeoutMs: number;
  callback?: CallbackSpec;
  failureCallback?: CallbackSpec;
  queueName?: string;
  labels?: string[];
  /** Requested delivery time (ms), as reported by the API. */
  notBefore: number;
  createdAt: number;
  callerIP: string;
  retried: number;
  /** Callback messages never get callbacks of their own and are never duplicated. */
  kind: "message" | "callback";
  /** The publish request's own headers, kept so a DLQ retry can republish the message. */
  source: HeaderList;
  dedupKey?: string;
};

export type PublishInput = {
  destination: string;
  headers: HeaderList;
  body: Buffer;
  queueName?: string;
  callerIP: string;
};

export const INVALID_DESTINATION =
  "invalid destination url: endpoint has invalid scheme, add http:// or https://";
const DEFAULT_TIMEOUT_MS = 15 * 60_000;
const FORWARD = "upstash-forward-";

export function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

export const newMessageId = (): string => `msg_${randomId(26)}`;

type Built = { message: Message; delayMs: number } | { error: string };

/** Validates the Upstash-* headers and builds the message; `delayMs` is the unscaled wait. */
export function buildMessage(input: PublishInput, now: number): Built {
  const h = (name: string) => getHeader(input.headers, name);
  if (!isHttpUrl(input.destination)) return { error: INVALID_DESTINATION };
  const timing = parseTiming(h, now);
  if ("error" in timing) return timing;
  const retries = h("Upstash-Retries") ?? "3";
  if (!/^\d+$/.test(retries.trim())) return { error: `invalid Upstash-Retries header: ${retries}` };
  const retryDelayExpression = h("Upstash-Retry-Delay");
  if (retryDelayExpression !== undefined) {
    try {
      evaluateRetryDelay(retryDelayExpression, 0);
    } catch (cause) {
      return { error: (cause as Error).message };
    }
  }
  const callback = callbackSpec(input.headers, "Upstash-Callback");
  const failureCallback = callbackSpec(input.headers, "Upstash-Failure-Callback");
  if (callback === null || failureCallback === null) return { error: "invalid callback url" };
  const labels = h("Upstash-Label")
    ?.split(",")
    .map((label) => label.trim());
  const message: Message = {
    messageId: newMessageId(),
    url: input.destination,
    method: (h("Upstash-Method") ?? "POST").toUpperCase(),
    deliver: deliveredHeaders(input.headers),
    body: input.body,
    maxRetries: Number(retries),
    retryDelayExpression,
    timeoutMs: timing.timeoutMs,
    callback,
    failureCallback,
    queueName: input.queueName,
    labels,
    notBefore: now + timing.delayMs,
    createdAt: now,
    callerIP: input.callerIP,
    retried: 0,
    kind: "message",
    source: input.headers,
    dedupKey: dedupKey(input),
  };
  return { message, delayMs: timing.delayMs };
}

type Lookup = (name: string) => string | undefined;

function parseTiming(h: Lookup, now: number): { delayMs: number; timeoutMs: number } | { error: string } {
  let delayMs = 0;
  const delay = h("Upstash-Delay");
  if (delay !== undefined) {
    const parsed = parseDuration(delay);
    if (parsed === undefined) return { error: `invalid Upstash-Delay header: ${delay}` };
    delayMs = parsed;
  }
  const notBefore = h("Upstash-Not-Before");
  if (notBefore !== undefined) {
    // Not-Before (unix seconds) takes precedence over Delay.
    if (!/^\d+$/.test(notBefore.trim())) return { error: `invalid Upstash-Not-Before header: ${notBefore}` };
    delayMs = Math.max(0, Number(notBefore) * 1000 - now);
  }
  const timeout = h("Upstash-Timeout");
  const timeoutMs = timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeout);
  if (timeoutMs === undefined) return { error: `invalid Upstash-Timeout header: ${timeout}` };
  return { delayMs, timeoutMs: Math.min(timeoutMs, DEFAULT_TIMEOUT_MS) };
}

/** Content-Type plus `Upstash-Forward-*` (prefix removed); `Upstash-Header-Forward: true` forwards all. */
function deliveredHeaders(headers: HeaderList): HeaderList {
  const forwardAll = getHeader(headers, "Upstash-Header-Forward") === "true";
  const out: HeaderList = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower.startsWith(FORWARD)) out.push([name.slice(FORWARD.length), value]);
    else if (lower === "content-type") out.push([name, value]);
    else if (forwardAll && !lower.startsWith("upstash-") && !HOP_HEADERS.has(lower)) out.push([name, value]);
  }
  return out;
}

const HOP_HEADERS = new Set(["authorization", "host", "content-length", "connection", "transfer-encoding"]);

/** undefined = no callback; null = an invalid callback URL. */
function callbackSpec(headers: HeaderList, prefix: string): CallbackSpec | undefined | null {
  const h = (suffix: string) => getHeader(headers, `${prefix}${suffix}`);
  const url = h("");
  if (url === undefined) return undefined;
  if (!isHttpUrl(url)) return null;
  const forwardPrefix = `${prefix}-forward-`.toLowerCase();
  const retries = h("-Retries");
  const timeout = h("-Timeout");
  const delay = h("-Delay");
  return {
    url,
    method: (h("-Method") ?? "POST").toUpperCase(),
    retries: retries === undefined ? undefined : Number(retries),
    retryDelay: h("-Retry-Delay"),
    timeoutMs: timeout === undefined ? undefined : parseDuration(timeout),
    delayMs: delay === undefined ? undefined : parseDuration(delay),
    forward: headers
      .filter(([name]) => name.toLowerCase().startsWith(forwardPrefix))
      .map(([name, value]) => [name.slice(forwardPrefix.length), value]),
  };
}

/** Explicit id, or (content-based) a hash of destination, body, Content-Type and forwarded headers. */
function dedupKey(input: PublishInput): string | undefined {
  const explicit = getHeader(input.headers, "Upstash-Deduplication-Id");
  if (explicit !== undefined) return `id:${explicit}`;
  if (getHeader(input.headers, "Upstash-Content-Based-Deduplication") !== "true") return undefined;
  const hash = createHash("sha256").update(input.destination).update("\n").update(input.body);
  const relevant = input.headers
    .filter(([name]) => /^(content-type|upstash-forward-)/i.test(name))
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort();
  return `content:${hash.update(relevant.join("\n")).digest("hex")}`;
}

/** The Message object of `GET /v2/messages/{id}` (and the base of a DLQ message). */
export function messageView(message: Message): Record<string, unknown> {
  const text = message.body.toString("utf8");
  const isUtf8 = Buffer.from(text, "utf8").equals(message.body);
  return {
    messageId: message.messageId,
    url: message.url,
    method: message.method,
    header: multiValued(message.deliver),
    ...(isUtf8 ? { body: text } : { bodyBase64: message.body.toString("base64") }),
    maxRetries: message.maxRetries,
    notBefore: message.notBefore,
    createdAt: message.createdAt,
    callback: message.callback?.url,
    failureCallback: message.failureCallback?.url,
    queueName: message.queueName,
    callerIP: message.callerIP,
    labels: message.labels,
    label: message.labels?.join(","),
    retryDelayExpression: message.retryDelayExpression,
  };
}
