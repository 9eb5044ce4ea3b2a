/**
 * Where a Discord answer goes, as the run keeps it (`callback.reply`: strings only). Written by
 * the inbound side when the run starts and read back by the delivery.
 */
import type { DiscordTarget } from "./interaction";

export function targetToReply(t: DiscordTarget): Record<string, string> {
  return {
    application_id: t.application_id,
    interaction_id: t.interaction_id,
    token: t.token,
    channel_id: t.channel_id,
    user_id: t.user_id,
    created_at_ms: String(t.created_at_ms),
  };
}

export function replyToTarget(r: Record<string, string>): DiscordTarget | null {
  const { application_id, interaction_id, token, channel_id, user_id, created_at_ms } = r;
  if (!application_id || !interaction_id || !token || !channel_id || !user_id || !created_at_ms) return null;
  return { application_id, interaction_id, token, channel_id, user_id, created_at_ms: Number(created_at_ms) };
}
