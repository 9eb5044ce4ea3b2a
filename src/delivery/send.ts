/**
 * One outbound POST of a signed JSON body: fresh timestamp and signature per attempt, a timeout,
 * and redirects never followed (a 3xx counts as a failed attempt).
 */
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
  now: () => number;
}): Promise<SendResult> {
  const started = opts.now();
  const signed = signWebhook(opts.secrets, opts.webhookId, new Date(started), opts.body);
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
    const error = timedOut ? `timeout after ${opts.timeoutMs} ms` : "connection failed";
    return {
      ok: false,
      status: null,
      error,
      duration_ms: opts.now() - started,
      reply: null,
      replyText: null,
    };
  }
}

async function readReply(res: Response): Promise<{ reply: unknown; replyText: string | null }> {
  const text = await res.text();
  if (text.length > MAX_REPLY_BYTES) return { reply: null, replyText: null };
  if (!(res.headers.get("content-type") ?? "").includes("json")) return { reply: null, replyText: text };
  try {
    return { reply: JSON.parse(text), replyText: text };
  } catch {
    return { reply: null, replyText: text };
  }
}
