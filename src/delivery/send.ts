/**
 * One outbound POST of a signed JSON body: fresh timestamp and signature per attempt, a timeout,
 * and redirects never followed (a 3xx counts as a failed attempt). The URL is checked against the
 * outbound URL policy again before every attempt, so a stored URL can never outlive the policy.
 * Replies are read only up to a bound: a hostile endpoint cannot make threadhook buffer without end.
 */
import { readBoundedBytes } from "./fetch-file";
import { checkOutboundUrl, type UrlPolicyMode } from "../security/url-policy";
import { signWebhook } from "./sign";

export interface SendResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  duration_ms: number;
  /** The reply body parsed when it was JSON, else null; and its text (bounded), else null. */
  reply: unknown;
  replyText: string | null;
}

const MAX_REPLY_BYTES = 256 * 1024;

export async function sendSigned(opts: {
  url: string;
  body: string;
  webhookId: string;
  secrets: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  policy: UrlPolicyMode;
  now: () => number;
}): Promise<SendResult> {
  const started = opts.now();
  const verdict = checkOutboundUrl(opts.url, opts.policy);
  if (!verdict.ok) return failed(`refused by the outbound URL policy: ${verdict.reason}`, 0);
  const signed = await signWebhook(opts.secrets, opts.webhookId, new Date(started), opts.body);
  try {
    const res = await fetch(opts.url, {
      method: "POST",
      headers: { ...opts.headers, "content-type": "application/json", "user-agent": "threadhook", ...signed },
      body: opts.body,
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const { reply, replyText } = await readReply(res);
    const ok = res.status >= 200 && res.status < 300;
    return {
      ok,
      status: res.status,
      error: ok ? null : `HTTP ${res.status}`,
      duration_ms: opts.now() - started,
      reply,
      replyText,
    };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return failed(
      timedOut ? `timeout after ${opts.timeoutMs} ms` : "connection failed",
      opts.now() - started,
    );
  }
}

const failed = (error: string, durationMs: number): SendResult => ({
  ok: false,
  status: null,
  error,
  duration_ms: durationMs,
  reply: null,
  replyText: null,
});

async function readReply(res: Response): Promise<{ reply: unknown; replyText: string | null }> {
  const text = await readBounded(res, MAX_REPLY_BYTES);
  if (text === null) return { reply: null, replyText: null };
  if (!(res.headers.get("content-type") ?? "").includes("json")) return { reply: null, replyText: text };
  try {
    return { reply: JSON.parse(text), replyText: text };
  } catch {
    return { reply: null, replyText: text };
  }
}

/** The body as text, or null when it is longer than `max` bytes (reading stops there). */
async function readBounded(res: Response, max: number): Promise<string | null> {
  const bytes = await readBoundedBytes(res, max);
  return bytes && new TextDecoder().decode(bytes);
}
