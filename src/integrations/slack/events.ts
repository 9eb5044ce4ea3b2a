/**
 * What a verified Slack request asks for, decided without I/O: the Events API's envelope
 * (`url_verification`, `event_callback`), a slash command, or an interactivity payload. A message
 * becomes a run on the conversation key `slack:{team}:{channel}:{thread_ts}`; its dedup key names
 * the message itself, so Slack's retries of an event, and the `app_mention` and `message` events of
 * one message, all start one run.
 */
import { z } from "zod";

export interface SlackOptions {
  team_id?: string | undefined;
  app_id?: string | undefined;
  bot_user_id?: string | undefined;
  bot_id?: string | undefined;
  respond_to_bots: boolean;
  respond_to_edits: boolean;
  slash_response: "in_channel" | "ephemeral";
  max_message_chars: number;
}

/** Where the answer goes (a run's `callback.reply`). */
export type SlackReply =
  | { mode: "thread"; channel: string; thread_ts: string }
  | { mode: "response_url"; response_url: string; response_type: "in_channel" | "ephemeral" };

export interface SlackAsk {
  team: string;
  conversation: string;
  dedupKey: string;
  text: string;
  user: string;
  reply: SlackReply;
  /** Only when the bot is in this thread already (a run was started on its conversation key). */
  onlyInKnownThread: boolean;
}

export type SlackDecision =
  | { kind: "challenge"; challenge: string }
  | { kind: "forbidden"; message: string }
  | { kind: "ignore"; reason: string }
  | { kind: "usage"; text: string }
  | { kind: "ask"; ask: SlackAsk; ack: "empty" | "ephemeral" };

const Message = z.looseObject({
  type: z.string(),
  subtype: z.string().optional(),
  channel: z.string().optional(),
  channel_type: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string().optional(),
  thread_ts: z.string().optional(),
  edited: z.looseObject({ ts: z.string() }).optional(),
  message: z.looseObject({}).optional(),
});
type Message = z.infer<typeof Message>;

const Envelope = z.looseObject({
  type: z.string(),
  challenge: z.string().optional(),
  team_id: z.string().optional(),
  api_app_id: z.string().optional(),
  event: Message.optional(),
});

/** Subtypes of a person's message (others: joins, deletions, bot messages, … are not asked). */
const USER_SUBTYPES = new Set(["file_share", "thread_broadcast", "me_message"]);

export const conversationKey = (team: string, channel: string, threadTs: string) =>
  `slack:${team}:${channel}:${threadTs}`;

function checkWorkspace(o: SlackOptions, team: string | undefined, app: string | undefined) {
  if (o.team_id && team !== o.team_id)
    return { kind: "forbidden" as const, message: "This request is for another Slack workspace." };
  if (o.app_id && app !== undefined && app !== o.app_id)
    return { kind: "forbidden" as const, message: "This request is for another Slack app." };
  return null;
}

/** An Events API request (JSON). */
export function decideEvent(body: unknown, o: SlackOptions): SlackDecision {
  const parsed = Envelope.safeParse(body);
  if (!parsed.success) return { kind: "ignore", reason: "not an Events API envelope" };
  const env = parsed.data;
  if (env.type === "url_verification" && env.challenge)
    return { kind: "challenge", challenge: env.challenge };
  if (env.type !== "event_callback" || !env.event) return { kind: "ignore", reason: `envelope ${env.type}` };
  const refused = checkWorkspace(o, env.team_id, env.api_app_id);
  if (refused) return refused;
  const team = env.team_id ?? "";
  const ev = env.event;
  if (ev.type === "app_mention") return askFromMessage(team, ev, ev, o, false, "");
  if (ev.type !== "message") return { kind: "ignore", reason: `event ${ev.type}` };
  let msg: Message = ev;
  let edit = "";
  if (ev.subtype === "message_changed") {
    if (!o.respond_to_edits) return { kind: "ignore", reason: "an edit" };
    const inner = Message.safeParse({ type: "message", ...ev.message });
    if (!inner.success) return { kind: "ignore", reason: "an edit without its message" };
    msg = { ...inner.data, channel: ev.channel };
    edit = `:edit:${inner.data.edited?.ts ?? ev.ts}`;
  } else if (ev.subtype && !USER_SUBTYPES.has(ev.subtype) && ev.subtype !== "bot_message") {
    return { kind: "ignore", reason: `message subtype ${ev.subtype}` };
  }
  const dm = ev.channel_type === "im";
  const inThread = msg.thread_ts !== undefined && msg.thread_ts !== msg.ts;
  // In a channel only replies in threads the bot is in; mentions come as app_mention.
  if (!dm && !inThread) return { kind: "ignore", reason: "a channel message without a mention" };
  return askFromMessage(team, ev, msg, o, !dm, edit);
}

function askFromMessage(
  team: string,
  ev: Message,
  msg: Message,
  o: SlackOptions,
  onlyInKnownThread: boolean,
  edit: string,
): SlackDecision {
  const own = (msg.bot_id && msg.bot_id === o.bot_id) || (msg.user && msg.user === o.bot_user_id);
  if (own) return { kind: "ignore", reason: "the bot's own message" };
  if ((msg.bot_id || msg.subtype === "bot_message") && !o.respond_to_bots)
    return { kind: "ignore", reason: "a bot's message" };
  const channel = msg.channel ?? ev.channel;
  if (!channel || !msg.ts) return { kind: "ignore", reason: "a message without channel or ts" };
  const threadTs = msg.thread_ts ?? msg.ts;
  const text = stripMention(msg.text ?? "", o.bot_user_id);
  if (!text) return { kind: "ignore", reason: "an empty message" };
  return {
    kind: "ask",
    ack: "empty",
    ask: {
      team,
      conversation: conversationKey(team, channel, threadTs),
      dedupKey: `${team}:${channel}:${msg.ts}${edit}`,
      text,
      user: msg.user ?? msg.bot_id ?? "",
      reply: { mode: "thread", channel, thread_ts: threadTs },
      onlyInKnownThread,
    },
  };
}

/** The bot's own mention taken out of the text (`<@U123>`), others kept. */
export function stripMention(text: string, botUserId: string | undefined): string {
  const own = botUserId ? new RegExp(`<@${botUserId}(\\|[^>]*)?>`, "g") : /^\s*<@[UW][A-Z0-9]+(\|[^>]*)?>/;
  return text.replace(own, "").trim();
}

/** A slash command (`application/x-www-form-urlencoded`). */
export function decideCommand(form: URLSearchParams, o: SlackOptions): SlackDecision {
  const team = form.get("team_id") ?? "";
  const refused = checkWorkspace(o, team, form.get("api_app_id") ?? undefined);
  if (refused) return refused;
  const command = form.get("command") ?? "/ask";
  const text = (form.get("text") ?? "").trim();
  const channel = form.get("channel_id") ?? "";
  const user = form.get("user_id") ?? "";
  const responseUrl = form.get("response_url");
  if (!text) return { kind: "usage", text: `Ask me something: \`${command} your question\`` };
  if (!responseUrl || !channel) return { kind: "ignore", reason: "a command without response_url" };
  return {
    kind: "ask",
    ack: "ephemeral",
    ask: {
      team,
      conversation: conversationKey(team, channel, `cmd-${user}`),
      dedupKey: `cmd:${form.get("trigger_id") ?? `${channel}:${user}:${text}`}`,
      text,
      user,
      reply: { mode: "response_url", response_url: responseUrl, response_type: o.slash_response },
      onlyInKnownThread: false,
    },
  };
}

const Interaction = z.looseObject({
  type: z.string(),
  team: z.looseObject({ id: z.string() }).optional(),
  api_app_id: z.string().optional(),
  channel: z.looseObject({ id: z.string() }).optional(),
  user: z.looseObject({ id: z.string() }).optional(),
  message: Message.optional(),
});

/**
 * An interactivity payload (`payload=<JSON>`): a message shortcut asks about the message it was
 * used on, in that message's thread; other interactions (buttons, …) are acknowledged and ignored.
 */
export function decideInteraction(payloadJson: string, o: SlackOptions): SlackDecision {
  let payload: unknown;
  try {
    payload = JSON.parse(payloadJson);
  } catch {
    return { kind: "ignore", reason: "an interactivity payload that is not JSON" };
  }
  const parsed = Interaction.safeParse(payload);
  if (!parsed.success) return { kind: "ignore", reason: "not an interactivity payload" };
  const p = parsed.data;
  const refused = checkWorkspace(o, p.team?.id, p.api_app_id);
  if (refused) return refused;
  if (p.type !== "message_action" || !p.message || !p.channel)
    return { kind: "ignore", reason: `interaction ${p.type}` };
  const msg = { ...p.message, channel: p.channel.id, user: p.user?.id ?? p.message.user };
  return askFromMessage(p.team?.id ?? "", msg, { ...msg, bot_id: undefined }, o, false, ":shortcut");
}
