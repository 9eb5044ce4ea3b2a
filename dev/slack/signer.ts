// Slack's side of an inbound request, for tests and people: sign a body the way Slack signs it
// (v0: HMAC-SHA256 over "v0:{timestamp}:{body}"), build the Events API envelope, a slash command's
// form and a message shortcut's payload, and send them to an integration's inbound URL.
import { createHmac } from "node:crypto";
import { SLACK_DEV } from "./server.ts";

export function slackHeaders(secret: string, body: string, timestampS = Math.floor(Date.now() / 1000)) {
  const signature = `v0=${createHmac("sha256", secret).update(`v0:${timestampS}:${body}`).digest("hex")}`;
  return { "x-slack-request-timestamp": String(timestampS), "x-slack-signature": signature };
}

let eventSeq = 0;

/** An `event_callback` envelope around `event`, from the dev workspace and app unless told otherwise. */
export function eventEnvelope(
  event: Record<string, unknown>,
  over: { team_id?: string; api_app_id?: string; event_id?: string } = {},
) {
  return {
    token: "deprecated-verification-token",
    team_id: over.team_id ?? SLACK_DEV.teamId,
    api_app_id: over.api_app_id ?? SLACK_DEV.appId,
    event,
    type: "event_callback",
    event_id: over.event_id ?? `Ev${Date.now().toString(36).toUpperCase()}${++eventSeq}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      { team_id: over.team_id ?? SLACK_DEV.teamId, user_id: SLACK_DEV.botUserId, is_bot: true },
    ],
  };
}

/** A person's `@bot` mention in a channel (in a thread when `thread_ts` is given). */
export function appMention(o: {
  channel: string;
  ts: string;
  text: string;
  user?: string;
  thread_ts?: string;
}) {
  return {
    type: "app_mention",
    user: o.user ?? "U0PERSON01",
    text: `<@${SLACK_DEV.botUserId}> ${o.text}`,
    ts: o.ts,
    channel: o.channel,
    event_ts: o.ts,
    ...(o.thread_ts ? { thread_ts: o.thread_ts } : {}),
  };
}

/** A `message` event: a direct message (`channel_type: "im"`) or a channel message. */
export function messageEvent(o: {
  channel: string;
  ts: string;
  text: string;
  user?: string;
  thread_ts?: string;
  channel_type?: "im" | "channel" | "group" | "mpim";
  bot_id?: string;
  subtype?: string;
}) {
  return {
    type: "message",
    channel: o.channel,
    channel_type: o.channel_type ?? "channel",
    ts: o.ts,
    event_ts: o.ts,
    text: o.text,
    ...(o.user !== undefined || !o.bot_id ? { user: o.user ?? "U0PERSON01" } : {}),
    ...(o.thread_ts ? { thread_ts: o.thread_ts } : {}),
    ...(o.bot_id ? { bot_id: o.bot_id } : {}),
    ...(o.subtype ? { subtype: o.subtype } : {}),
  };
}

/** A slash command's form body. */
export function slashCommand(o: {
  text: string;
  channel: string;
  response_url: string;
  command?: string;
  user?: string;
  team_id?: string;
}) {
  return new URLSearchParams({
    token: "deprecated-verification-token",
    team_id: o.team_id ?? SLACK_DEV.teamId,
    team_domain: "threadhook-dev",
    channel_id: o.channel,
    channel_name: "general",
    user_id: o.user ?? "U0PERSON01",
    user_name: "person",
    command: o.command ?? "/ask",
    text: o.text,
    api_app_id: SLACK_DEV.appId,
    is_enterprise_install: "false",
    response_url: o.response_url,
    trigger_id: `${Date.now()}.${++eventSeq}.dev`,
  }).toString();
}

/** POST a signed Slack request (JSON object, or a form string) to an inbound URL. */
export async function sendToInbound(
  url: string,
  secret: string,
  body: Record<string, unknown> | string,
  opts: { timestampS?: number; headers?: Record<string, string> } = {},
) {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const contentType = typeof body === "string" ? "application/x-www-form-urlencoded" : "application/json";
  const started = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": contentType, ...slackHeaders(secret, raw, opts.timestampS), ...opts.headers },
    body: raw,
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: a test helper's answer, read field by field
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, body: json ?? text, ms: performance.now() - started };
}
