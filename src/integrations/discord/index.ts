/**
 * The Discord adapter: HTTP interactions (no gateway). A slash command (`/ask`) or a message
 * command is acknowledged at once with a deferred response, runs on
 * `discord:{guild}:{channel}:{user or thread}`, and its answer replaces the "thinking…" message
 * (split over 2,000 characters into follow-ups); after the interaction token's 15 minutes it goes
 * to the channel with the bot token. See docs/integrations.md.
 */
import { z } from "zod";
import type { IntegrationAdapter } from "../types";
import { discordApi } from "./api";
import { deliverToDiscord, messageFor } from "./deliver";
import { DiscordCredentials, discordInbound } from "./inbound";
import { replyToTarget } from "./reply";

export const discord: IntegrationAdapter = {
  type: "discord",
  credentials: DiscordCredentials,
  options: z.strictObject({}),

  async prepare(_credentials, given) {
    return given;
  },

  handleInbound: discordInbound,

  async deliver(event, run, integration, reply, deps) {
    const text = event.type === "run.requires_action" ? null : messageFor(run);
    // A run waiting for tool outputs has nothing to say (it expires, then says so).
    if (text === null) return { ok: true, status: null, error: null };
    const target = replyToTarget(reply);
    if (!target) return { ok: false, status: null, error: "the run has no Discord interaction to answer" };
    const r = await deliverToDiscord({
      api: discordApi(deps.config.discordApiUrl),
      botToken: integration.credentials.bot_token ?? "",
      target,
      text,
      sent: 0,
      nowMs: deps.now(),
    });
    return { ok: r.ok, status: r.status, error: r.ok ? null : `Discord: ${r.error}` };
  },
};
