/**
 * The few Slack Web API calls threadhook makes (auth.test, chat.postMessage, chat.update) and the
 * POST to a slash command's `response_url`. The base URL is config (`SLACK_API_URL`); every URL is
 * checked against the outbound URL policy before it is called (https and public in production), no
 * redirect is followed, and every call has a timeout. Slack answers HTTP 200 with `ok: false` and an
 * `error` for refusals, and 429 with Retry-After when it limits the rate: both are failures here.
 */
import { checkOutboundUrl } from "../../security/url-policy";

/** A Slack call's timeout: Slack answers in well under a second; a delivery attempt is retried. */
const SLACK_TIMEOUT_MS = 10_000;

export interface SlackCall {
  ok: boolean;
  status: number | null;
  /** Slack's `error` (`channel_not_found`, `invalid_auth`, …), `HTTP 429`, or why the call failed. */
  error: string | null;
  body: Record<string, unknown> | null;
}

export interface SlackApiOptions {
  apiUrl: string;
  token: string;
  devMode: boolean;
}

/** A Web API method with a JSON body (Slack takes JSON on write methods with a bearer token). */
export async function slackApi(
  opts: SlackApiOptions,
  method: string,
  args: Record<string, unknown>,
): Promise<SlackCall> {
  return post(`${opts.apiUrl}/${method}`, args, opts.devMode, { authorization: `Bearer ${opts.token}` });
}

/**
 * A slash command's `response_url` (valid 30 minutes, 5 uses). Outside development it must be
 * Slack's own host: the URL comes in a signed request, but is never trusted beyond that.
 */
export async function postToResponseUrl(
  url: string,
  message: Record<string, unknown>,
  devMode: boolean,
): Promise<SlackCall> {
  if (!devMode && !url.startsWith("https://hooks.slack.com/"))
    return { ok: false, status: null, error: "response_url is not Slack's", body: null };
  return post(url, message, devMode, {});
}

async function post(
  url: string,
  body: Record<string, unknown>,
  devMode: boolean,
  headers: Record<string, string>,
): Promise<SlackCall> {
  const verdict = checkOutboundUrl(url, { devMode });
  if (!verdict.ok)
    return {
      ok: false,
      status: null,
      error: `refused by the outbound URL policy: ${verdict.reason}`,
      body: null,
    };
  try {
    const res = await fetch(verdict.url.href, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json; charset=utf-8", "user-agent": "threadhook" },
      body: JSON.stringify(body),
      redirect: "manual",
      signal: AbortSignal.timeout(SLACK_TIMEOUT_MS),
    });
    const text = await res.text();
    const json = parseObject(text);
    if (res.status !== 200) return { ok: false, status: res.status, error: `HTTP ${res.status}`, body: json };
    // A response_url answers `ok` as text (or {"ok":true}); the Web API answers JSON with `ok`.
    const ok = json ? json.ok === true : text.trim() === "ok";
    const error = ok ? null : typeof json?.error === "string" ? json.error : "not ok";
    return { ok, status: res.status, error, body: json };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { ok: false, status: null, error: timedOut ? "timeout" : "connection failed", body: null };
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
