/**
 * The Discord REST calls the adapter makes, and only those: edit an interaction's original
 * response and post follow-ups (the interaction's webhook, authorised by its token, which lives 15
 * minutes), and post a channel message with the bot token (after the token has expired). Each
 * answers a small outcome; nothing here throws for an HTTP or network failure, and no token or
 * bot token appears in an outcome (they are in the URL and a header only).
 */

export interface DiscordCall {
  ok: boolean;
  status: number | null;
  /** Discord's JSON error code (e.g. 50027 Invalid Webhook Token), when it sent one. */
  code: number | null;
  /** Short and secret-free: `HTTP 429`, `timeout`, `connection failed`. */
  error: string | null;
  /** Worth trying again later (429, 5xx, timeout, connection failure). */
  retryable: boolean;
  /** The message id Discord answered with. */
  message_id: string | null;
}

export const DISCORD_CALL_TIMEOUT_MS = 10_000;
/** Mentions in the answer's text never ping anyone; only the asker is pinged in a channel message. */
const NO_PINGS = { parse: [] as string[] };

export interface DiscordApi {
  editOriginal(applicationId: string, token: string, content: string): Promise<DiscordCall>;
  followUp(applicationId: string, token: string, content: string): Promise<DiscordCall>;
  /** The bot token's application (`GET /applications/@me`): its id and public key. */
  currentApplication(
    botToken: string,
  ): Promise<DiscordCall & { application: { id: string; verify_key: string } | null }>;
  channelMessage(
    botToken: string,
    channelId: string,
    content: string,
    pingUserId: string | null,
  ): Promise<DiscordCall>;
}

export function discordApi(baseUrl: string, fetchImpl: typeof fetch = fetch): DiscordApi {
  const base = baseUrl.replace(/\/+$/, "");
  const hook = (appId: string, token: string) => `${base}/webhooks/${appId}/${encodeURIComponent(token)}`;
  const call = (url: string, method: string, body: unknown, headers: Record<string, string> = {}) =>
    send(fetchImpl, url, method, body, headers);
  return {
    editOriginal: (appId, token, content) =>
      call(`${hook(appId, token)}/messages/@original`, "PATCH", { content, allowed_mentions: NO_PINGS }),
    followUp: (appId, token, content) =>
      call(hook(appId, token), "POST", { content, allowed_mentions: NO_PINGS }),
    currentApplication: async (botToken) => {
      const r = await call(`${base}/applications/@me`, "GET", undefined, {
        authorization: `Bot ${botToken}`,
      });
      const { id, verify_key } = r.json ?? {};
      const application =
        r.ok && typeof id === "string" && typeof verify_key === "string" ? { id, verify_key } : null;
      return { ...r, application };
    },
    channelMessage: (botToken, channelId, content, pingUserId) =>
      call(
        `${base}/channels/${channelId}/messages`,
        "POST",
        { content, allowed_mentions: pingUserId ? { parse: [], users: [pingUserId] } : NO_PINGS },
        { authorization: `Bot ${botToken}` },
      ),
  };
}

async function send(
  fetchImpl: typeof fetch,
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<DiscordCall & { json: Json | null }> {
  try {
    const res = await fetchImpl(url, {
      method,
      headers: {
        ...headers,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        "user-agent": "DiscordBot (threadhook, 0.1)",
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: "manual",
      signal: AbortSignal.timeout(DISCORD_CALL_TIMEOUT_MS),
    });
    const json = await readJson(res);
    const ok = res.status >= 200 && res.status < 300;
    return {
      ok,
      status: res.status,
      code: typeof json?.code === "number" ? json.code : null,
      error: ok ? null : `HTTP ${res.status}`,
      retryable: res.status === 429 || res.status >= 500,
      message_id: ok && typeof json?.id === "string" ? json.id : null,
      json,
    };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const error = timedOut ? "timeout" : "connection failed";
    return { ok: false, status: null, code: null, error, retryable: true, message_id: null, json: null };
  }
}

type Json = Record<string, unknown>;

async function readJson(res: Response): Promise<Json | null> {
  try {
    const text = await res.text();
    const json: unknown = text.length <= 64 * 1024 ? JSON.parse(text) : null;
    return json !== null && typeof json === "object" && !Array.isArray(json) ? (json as Json) : null;
  } catch {
    return null;
  }
}
