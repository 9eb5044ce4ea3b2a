// One delivery attempt: a signed HTTP request to the message's destination.
import { parseRetryAfter } from "./duration.ts";
import http from "node:http";
import https from "node:https";
import { getHeader, type HeaderList } from "./http.ts";
import { signDelivery } from "./jwt.ts";
import type { Message } from "./message.ts";

export type Outcome = {
  ok: boolean;
  /** HTTP status, or 0 when no response arrived (connection error, timeout). */
  status: number;
  headers: HeaderList;
  body: Buffer;
  error?: string;
  /** 489 + `Upstash-NonRetryable-Error: true`: straight to the DLQ. */
  nonRetryable: boolean;
  /** From Retry-After / X-RateLimit-Reset*, capped at one day (unscaled ms). */
  retryAfterMs?: number;
};

const ONE_DAY_MS = 86_400_000;
const RETRY_AFTER_HEADERS = [
  "retry-after",
  "x-ratelimit-reset",
  "x-ratelimit-reset-requests",
  "x-ratelimit-reset-tokens",
];

export async function deliverOnce(
  message: Message,
  signingKey: string,
  closing: AbortSignal,
  /** Fault switch: drop the connection this many ms in (the destination's step is killed mid-way). */
  dropAfterMs?: number,
): Promise<Outcome> {
  const hasBody = message.method !== "GET" && message.method !== "HEAD";
  const body = hasBody ? message.body : Buffer.alloc(0);
  const headers: HeaderList = message.deliver.filter(([name]) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name));
  headers.push(
    ["Upstash-Signature", signDelivery(signingKey, message.url, body)],
    ["Upstash-Message-Id", message.messageId],
    ["Upstash-Retried", String(message.retried)],
    ["User-Agent", "Upstash-QStash"],
    ["Upstash-Caller-Ip", message.callerIP],
  );
  const dropped = dropAfterMs === undefined ? null : AbortSignal.timeout(dropAfterMs);
  const signal = AbortSignal.any([
    closing,
    AbortSignal.timeout(message.timeoutMs),
    ...(dropped ? [dropped] : []),
  ]);
  try {
    const response = await request(message.url, message.method, headers, hasBody ? body : null, signal);
    return {
      ok: response.status >= 200 && response.status < 300,
      status: response.status,
      headers: response.headers,
      body: response.body,
      nonRetryable:
        response.status === 489 && getHeader(response.headers, "upstash-nonretryable-error") === "true",
      retryAfterMs: retryAfter(response.headers),
    };
  } catch (cause) {
    const error = dropped?.aborted
      ? "connection dropped (fault switch)"
      : signal.aborted && !closing.aborted
        ? "request timed out"
        : String(cause);
    return { ok: false, status: 0, headers: [], body: Buffer.alloc(0), error, nonRetryable: false };
  }
}

/**
 * One HTTP(S) request with `node:http`: unlike `fetch`, it has no header or body timeout of its own,
 * so a destination may hold the request (a model call) for as long as the message's
 * `Upstash-Timeout` allows, as QStash does up to the plan's maximum. Redirects are not followed.
 */
function request(
  url: string,
  method: string,
  headers: HeaderList,
  body: Buffer | null,
  signal: AbortSignal,
): Promise<{ status: number; headers: HeaderList; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? https.request : http.request;
    const merged: Record<string, string[]> = {};
    for (const [name, value] of headers) {
      const key = name.toLowerCase();
      merged[key] = [...(merged[key] ?? []), value];
    }
    if (body) merged["content-length"] = [String(body.length)];
    const req = send(target, { method, headers: merged, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const pairs: HeaderList = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
          pairs.push([res.rawHeaders[i] ?? "", res.rawHeaders[i + 1] ?? ""]);
        resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}

function retryAfter(headers: HeaderList): number | undefined {
  for (const name of RETRY_AFTER_HEADERS) {
    const ms = parseRetryAfter(getHeader(headers, name) ?? null, Date.now());
    if (ms !== undefined) return ms > ONE_DAY_MS ? undefined : ms;
  }
  return undefined;
}
