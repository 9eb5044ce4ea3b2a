// Interactions as Discord sends them: PING, a slash command with a text option, a message command.
import { randomBytes } from "node:crypto";
import { snowflake } from "./state.ts";

export type InteractOptions = {
  /** `ping`, `slash` (default) or `message` (a message command on a message with `text`). */
  kind?: "ping" | "slash" | "message";
  /** The command's name (default `ask`; the message command's default: `Ask threadhook`). */
  command?: string;
  /** The slash command's `question` option, or the targeted message's content. */
  text?: string;
  guildId?: string | null;
  channelId?: string;
  /** The channel is a thread of this parent channel. */
  threadParentId?: string;
  userId?: string;
  /** When the interaction happened (default now): its id and token life count from here. */
  createdAtMs?: number;
  /** Signed timestamp in Unix seconds (default now). */
  timestampS?: number;
  /** `valid` (default), `bad` (one byte of the signature changed) or `none` (no signature headers). */
  signature?: "valid" | "bad" | "none";
  /** Fields merged over the built interaction. */
  extra?: Record<string, unknown>;
};

export type BuiltInteraction = Record<string, unknown> & {
  id: string;
  application_id: string;
  token: string;
  channel_id: string;
  member?: { user: { id: string }; [k: string]: unknown };
  user?: { id: string };
};

export const DEV_GUILD_ID = "1200000000000000001";
export const DEV_CHANNEL_ID = "1300000000000000001";
export const DEV_USER_ID = "1400000000000000001";

export function buildInteraction(applicationId: string, o: InteractOptions): BuiltInteraction {
  const kind = o.kind ?? "slash";
  const guildId = o.guildId === undefined ? DEV_GUILD_ID : o.guildId;
  const channelId = o.channelId ?? DEV_CHANNEL_ID;
  const user = {
    id: o.userId ?? DEV_USER_ID,
    username: "dev-user",
    discriminator: "0",
    global_name: "Dev User",
  };
  const base: BuiltInteraction = {
    id: snowflake(o.createdAtMs),
    application_id: applicationId,
    type: kind === "ping" ? 1 : 2,
    token: `aW50ZXJhY3Rpb246${randomBytes(24).toString("base64url")}`,
    version: 1,
    channel_id: channelId,
    channel: {
      id: channelId,
      type: o.threadParentId ? 11 : 0,
      ...(o.threadParentId ? { parent_id: o.threadParentId } : {}),
    },
    app_permissions: "2248473465835073",
    locale: "en-US",
    entitlements: [],
    authorizing_integration_owners: { "0": guildId ?? "0" },
    context: guildId ? 0 : 1,
    ...(guildId
      ? { guild_id: guildId, guild_locale: "en-US", member: { user, roles: [], permissions: "0" } }
      : { user }),
  };
  if (kind === "slash")
    base.data = {
      id: "1500000000000000001",
      name: o.command ?? "ask",
      type: 1,
      options: o.text === undefined ? [] : [{ name: "question", type: 3, value: o.text }],
    };
  if (kind === "message") {
    const messageId = snowflake();
    base.data = {
      id: "1500000000000000002",
      name: o.command ?? "Ask threadhook",
      type: 3,
      target_id: messageId,
      resolved: {
        messages: {
          [messageId]: {
            id: messageId,
            channel_id: channelId,
            content: o.text ?? "",
            author: { id: "1400000000000000009", username: "someone" },
            timestamp: new Date().toISOString(),
          },
        },
      },
    };
  }
  return { ...base, ...o.extra } as BuiltInteraction;
}
