// One delivery attempt: a signed HTTP request to the message's destination.
import { parseRetryAfter } from "./duration.ts";
import type { HeaderList } from "./http.ts";
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
): Promise<Outcome> {
  const hasBody = message.method !== "GET" && message.method !== "HEAD";
  const body = hasBody ? message.body : Buffer.alloc(0);
  const headers = new Headers();
  for (const [name, value] of message.deliver) {
    try {
      headers.append(name, value);
    } catch {
      // A header name fetch refuses (forbidden or malformed) is dropped rather than failing delivery.
    }
  }
  headers.set("Upstash-Signature", signDelivery(signingKey, message.url, body));
  headers.set("Upstash-Message-Id", message.messageId);
  headers.set("Upstash-Retried", String(message.retried));
  headers.set("User-Agent", "Upstash-QStash");
  headers.set("Upstash-Caller-Ip", message.callerIP);
  const signal = AbortSignal.any([closing, AbortSignal.timeout(message.timeoutMs)]);
  try {
    const response = await fetch(message.url, {
      method: message.method,
      headers,
      body: hasBody ? new Uint8Array(body) : undefined,
      signal,
      redirect: "manual",
    });
    const responseBody = Buffer.from(await response.arrayBuffer());
    const responseHeaders: HeaderList = [...response.headers.entries()];
    return {
      ok: response.status >= 200 && response.status < 300,
      status: response.status,
      headers: responseHeaders,
      body: responseBody,
      nonRetryable: response.status === 489 && response.headers.get("upstash-nonretryable-error") === "true",
      retryAfterMs: retryAfter(response.headers),
    };
  } catch (cause) {
    const error = signal.aborted && !closing.aborted ? "request timed out" : String(cause);
    return { ok: false, status: 0, headers: [], body: Buffer.alloc(0), error, nonRetryable: false };
  }
}

function retryAfter(headers: Headers): number | undefined {
  for (const name of RETRY_AFTER_HEADERS) {
    const ms = parseRetryAfter(headers.get(name), Date.now());
    if (ms !== undefined) return ms > ONE_DAY_MS ? undefined : ms;
  }
  return undefined;
}
