// The Discord stand-in's REST routes (under /api/v10): the interaction webhook (edit the original
// response, follow-ups; 15-minute tokens), the bot's application, and bot channel messages. Each
// answers `{ status, body }` with Discord's error shape `{ message, code }`.
import { type DiscordState, type Message, type Sent, snowflake, TOKEN_LIFE_MS } from "./state.ts";

const MAX_CONTENT = 2000;

export const discordError = (message: string, code: number, extra: Record<string, unknown> = {}) => ({
  message,
  code,
  ...extra,
});
const error = discordError;

export type RestAnswer = { status: number; body: unknown };

export function discordRest(opts: {
  state: DiscordState;
  applicationId: string;
  botToken: string;
  publicKeyHex: string;
}) {
  const { state, applicationId, botToken } = opts;
  const signer = { publicKeyHex: opts.publicKeyHex };

  /** Discord's REST routes the adapter uses. */
  function api(method: string, route: string, body: unknown, headers: Record<string, string>) {
    const hook = /^\/webhooks\/(\d+)\/([^/]+)(\/messages\/@original)?$/.exec(route);
    if (hook)
      return webhook(method, hook[1] as string, decodeURIComponent(hook[2] as string), !!hook[3], body);
    if (route === "/applications/@me" && method === "GET") {
      if (headers.authorization !== `Bot ${botToken}`)
        return { status: 401, body: error("401: Unauthorized", 0) };
      return {
        status: 200,
        body: {
          id: applicationId,
          name: "threadhook-dev",
          description: "",
          verify_key: signer.publicKeyHex,
          bot_public: false,
          bot_require_code_grant: false,
          flags: 0,
          bot: { id: applicationId, username: "threadhook-dev", discriminator: "0", bot: true },
        },
      };
    }
    const channel = /^\/channels\/(\d+)\/messages$/.exec(route);
    if (channel && method === "POST") {
      if (headers.authorization !== `Bot ${botToken}`)
        return { status: 401, body: error("401: Unauthorized", 0) };
      const invalid = checkContent(body, true);
      if (invalid) return invalid;
      const msg = message(channel[1] as string, (body as { content: string }).content, 0);
      state.record({
        kind: "channel_message",
        interaction_id: null,
        channel_id: msg.channel_id,
        content: msg.content,
        message_id: msg.id,
      });
      return { status: 200, body: msg };
    }
    return { status: 404, body: error("404: Not Found", 0) };
  }

  function webhook(method: string, appId: string, token: string, original: boolean, body: unknown) {
    const sent = state.byToken.get(token);
    if (!sent || appId !== sent.interaction.application_id)
      return { status: 404, body: error("Unknown Webhook", 10015) };
    if (Date.now() > sent.created_at_ms + TOKEN_LIFE_MS)
      return { status: 401, body: error("Invalid Webhook Token", 50027) };
    if (!sent.response || sent.response.type === 1)
      return { status: 404, body: error("Unknown Webhook", 10015) };
    if (original && method === "GET")
      return sent.original
        ? { status: 200, body: sent.original }
        : { status: 404, body: error("Unknown Message", 10008) };
    if (original && method === "PATCH") {
      if (!sent.original) return { status: 404, body: error("Unknown Message", 10008) };
      const invalid = checkContent(body, false);
      if (invalid) return invalid;
      const content = (body as { content?: string }).content;
      if (content !== undefined) sent.original.content = content;
      sent.original.edited_timestamp = new Date().toISOString();
      sent.original.flags &= ~128; // no longer "thinking…"
      state.record({
        kind: "edit_original",
        interaction_id: sent.interaction.id,
        channel_id: sent.channel_id,
        content: sent.original.content,
        message_id: sent.original.id,
      });
      return { status: 200, body: sent.original };
    }
    if (!original && method === "POST") {
      const invalid = checkContent(body, true);
      if (invalid) return invalid;
      const msg = {
        ...message(sent.channel_id, (body as { content: string }).content, 0),
        webhook_id: appId,
      };
      sent.followups.push(msg);
      state.record({
        kind: "followup",
        interaction_id: sent.interaction.id,
        channel_id: sent.channel_id,
        content: msg.content,
        message_id: msg.id,
      });
      return { status: 200, body: msg };
    }
    return { status: 405, body: error("405: Method Not Allowed", 0) };
  }

  function checkContent(body: unknown, create: boolean) {
    const content = (body as { content?: unknown } | null)?.content;
    if (body === null || typeof body !== "object" || (content !== undefined && typeof content !== "string"))
      return { status: 400, body: error("Invalid Form Body", 50035) };
    if (typeof content === "string" && content.length > MAX_CONTENT)
      return {
        status: 400,
        body: error("Invalid Form Body", 50035, {
          errors: {
            content: {
              _errors: [
                { code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${MAX_CONTENT} or fewer in length.` },
              ],
            },
          },
        }),
      };
    if (create && (typeof content !== "string" || content.trim() === ""))
      return { status: 400, body: error("Cannot send an empty message", 50006) };
    return null;
  }

  function message(channelId: string, content: string, flags: number, interaction?: Sent): Message {
    return {
      id: snowflake(),
      type: interaction ? 20 : 0,
      channel_id: channelId,
      content,
      author: { id: applicationId, username: "threadhook-dev", bot: true },
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags,
      application_id: applicationId,
      ...(interaction
        ? {
            webhook_id: applicationId,
            interaction_metadata: {
              id: interaction.interaction.id,
              type: 2,
              user: { id: interaction.user_id },
            },
          }
        : {}),
    };
  }

  return { api, message };
}
