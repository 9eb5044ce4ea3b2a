/**
 * The Discord adapter: HTTP interactions (no gateway). A slash command (`/ask`) or a message
 * command is acknowledged at once with a deferred response, runs on
 * `discord:{guild}:{channel}:{user or thread}`, and its answer replaces the "thinking…" message
 * (split over 2,000 characters into follow-ups); after the interaction token's 15 minutes it goes
 * to the channel with the bot token. With progress events, the "thinking…" message shows the text
 * as it is written. See docs/integrations.md.
 */
import { z } from "zod";
import { ApiError } from "../../errors";
import type { IntegrationAdapter } from "../types";
import { discordApi } from "./api";
import { deliverToDiscord, messageFor } from "./deliver";
import { withFiles } from "./format";
import { DiscordCredentials, discordInbound } from "./inbound";
import { discordProgress } from "./progress";
import { replyToTarget } from "./reply";

export const discord: IntegrationAdapter = {
  type: "discord",
  credentials: DiscordCredentials,
  options: z.strictObject({}),

  /** The bot token must belong to the application whose id and public key are given. */
  async prepare(credentials, given, deps) {
    const r = await discordApi(deps.config.discordApiUrl).currentApplication(credentials.bot_token ?? "");
    if (!r.application) {
      const refused = r.status === 401 || r.status === 403;
      throw new ApiError(
        refused ? 400 : 502,
        "discord_auth_failed",
        refused
          ? "Discord refused the bot token (GET /applications/@me): check credentials.bot_token."
          : `Discord could not be asked about the bot token (${r.error ?? "no application in the answer"}); try again.`,
        { param: "credentials.bot_token" },
      );
    }
    const mismatch = (param: string, what: string) =>
      new ApiError(
        400,
        "discord_credentials_mismatch",
        `credentials.${param} is not the bot's application's ${what}.`,
        {
          param: `credentials.${param}`,
        },
      );
    if (r.application.id !== credentials.application_id) throw mismatch("application_id", "id");
    if (r.application.verify_key.toLowerCase() !== credentials.public_key?.toLowerCase())
      throw mismatch("public_key", "public key");
    return given;
  },

  handleInbound: discordInbound,

  /** `message.delta`: the "thinking…" response edited with the text so far (progress.ts). */
  async progress(event, run, _integration, reply, deps) {
    return discordProgress(event, run, reply, discordApi(deps.config.discordApiUrl), deps);
  },

  async deliver(event, run, integration, reply, deps) {
    const said = event.type === "run.requires_action" ? null : messageFor(run);
    const files = (event.data.run as { files?: { filename: string; download_url?: string }[] }).files;
    const text = said === null ? null : withFiles(said, files ?? []);
    // A run waiting for tool outputs has nothing to say (it expires, then says so).
    if (text === null) return { ok: true, status: null, error: null };
    const target = replyToTarget(reply);
    if (!target) return { ok: false, status: null, error: "the run has no Discord interaction to answer" };
    // Parts of this event a failed attempt of this delivery cycle posted already (a redeliver starts over).
    const attempt = `${event.id}:${run.delivery.cycle_start}`;
    const r = await deliverToDiscord({
      api: discordApi(deps.config.discordApiUrl),
      botToken: integration.credentials.bot_token ?? "",
      target,
      text,
      sent: sentBefore((await deps.replies.get(run.tenant, run.id))?.progress, attempt),
      nowMs: deps.now(),
    });
    if (!r.ok && r.sent > 0) await deps.replies.set(run.tenant, run.id, { progress: `${attempt}:${r.sent}` });
    return { ok: r.ok, status: r.status, error: r.ok ? null : `Discord: ${r.error}` };
  },
};

/** `{event id}:{cycle}:{parts sent}` as the last attempt left it; 0 for another event or cycle. */
function sentBefore(progress: string | undefined, attempt: string): number {
  if (!progress?.startsWith(`${attempt}:`)) return 0;
  const n = Number(progress.slice(attempt.length + 1));
  return Number.isInteger(n) && n > 0 ? n : 0;
}
