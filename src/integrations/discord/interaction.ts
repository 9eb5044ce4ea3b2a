/**
 * Discord's interaction payload, read as far as the adapter needs it, and what the adapter makes of
 * it (pure): a PING, a question to run (a slash command's text option, or the message a message
 * command targets) with its conversation key, or an immediate short reply for anything else.
 * https://discord.com/developers/docs/interactions/receiving-and-responding
 */
import { z } from "zod";

export const InteractionType = { PING: 1, APPLICATION_COMMAND: 2 } as const;
export const CommandType = { CHAT_INPUT: 1, USER: 2, MESSAGE: 3 } as const;
export const ResponseType = { PONG: 1, CHANNEL_MESSAGE: 4, DEFERRED_CHANNEL_MESSAGE: 5 } as const;
/** Message flag: only the user who invoked the interaction sees the message. */
export const EPHEMERAL = 64;
/** Channel types that are threads: a thread is one conversation for everyone in it. */
const THREAD_CHANNEL_TYPES = new Set([10, 11, 12]);
const OPTION_STRING = 3;

const Snowflake = z.string().regex(/^\d{1,20}$/);
const User = z.object({ id: Snowflake });
type Option = { name: string; type: number; value?: unknown; options?: Option[] | undefined };
const OptionSchema: z.ZodType<Option> = z.lazy(() =>
  z.object({
    name: z.string(),
    type: z.number().int(),
    value: z.unknown().optional(),
    options: z.array(OptionSchema).optional(),
  }),
);

export const InteractionSchema = z.object({
  id: Snowflake,
  application_id: Snowflake,
  type: z.number().int(),
  token: z.string().min(1).max(1000).optional(),
  guild_id: Snowflake.optional(),
  channel_id: Snowflake.optional(),
  channel: z.object({ id: Snowflake, type: z.number().int(), parent_id: Snowflake.nullish() }).optional(),
  member: z.object({ user: User }).optional(),
  user: User.optional(),
  data: z
    .object({
      name: z.string(),
      type: z.number().int().optional(),
      options: z.array(OptionSchema).optional(),
      target_id: Snowflake.optional(),
      resolved: z
        .object({ messages: z.record(z.string(), z.object({ content: z.string().optional() })).optional() })
        .optional(),
    })
    .optional(),
});
export type Interaction = z.infer<typeof InteractionSchema>;

/** Where an answer goes back: the interaction's webhook (15 minutes), else the channel. */
export interface DiscordTarget {
  application_id: string;
  interaction_id: string;
  token: string;
  channel_id: string;
  user_id: string;
  /** When Discord created the interaction (its token lives 15 minutes from then). */
  created_at_ms: number;
}

export type Classified =
  | { kind: "ping" }
  | { kind: "ask"; prompt: string; conversationKey: string; command: string; target: DiscordTarget }
  | { kind: "reply"; content: string };

/** Discord's ids carry their creation time: milliseconds since 2015 in the top 42 bits. */
const DISCORD_EPOCH_MS = 1_420_070_400_000;
export const snowflakeTimeMs = (id: string): number => Number(BigInt(id) >> 22n) + DISCORD_EPOCH_MS;

export function classify(interaction: Interaction): Classified {
  if (interaction.type === InteractionType.PING) return { kind: "ping" };
  const data = interaction.data;
  if (interaction.type !== InteractionType.APPLICATION_COMMAND || !data)
    return { kind: "reply", content: "This bot answers the /ask command and the message command only." };
  const prompt = promptOf(data);
  if (prompt === null)
    return {
      kind: "reply",
      content:
        data.type === CommandType.MESSAGE
          ? "That message has no text to ask about."
          : `Ask something: /${data.name} followed by your question.`,
    };
  const userId = interaction.member?.user.id ?? interaction.user?.id;
  const channelId = interaction.channel_id ?? interaction.channel?.id;
  if (!userId || !channelId || !interaction.token)
    return { kind: "reply", content: "This interaction has no channel or user to answer." };
  return {
    kind: "ask",
    prompt,
    command: data.name,
    conversationKey: conversationKey(interaction, channelId, userId),
    target: {
      application_id: interaction.application_id,
      interaction_id: interaction.id,
      token: interaction.token,
      channel_id: channelId,
      user_id: userId,
      created_at_ms: snowflakeTimeMs(interaction.id),
    },
  };
}

/**
 * `discord:{guild}:{channel}:{user or thread}`: in a thread, everyone shares the thread's
 * conversation (channel = the thread's parent); elsewhere each user has their own per channel.
 * Direct messages have no guild (`dm`).
 */
export function conversationKey(interaction: Interaction, channelId: string, userId: string): string {
  const guild = interaction.guild_id ?? "dm";
  const channel = interaction.channel;
  if (channel && THREAD_CHANNEL_TYPES.has(channel.type) && channel.parent_id)
    return `discord:${guild}:${channel.parent_id}:${channel.id}`;
  return `discord:${guild}:${channelId}:${userId}`;
}

function promptOf(data: NonNullable<Interaction["data"]>): string | null {
  if (data.type === CommandType.MESSAGE) {
    const target = data.target_id ? data.resolved?.messages?.[data.target_id] : undefined;
    const text = target?.content?.trim();
    return text ? text : null;
  }
  if ((data.type ?? CommandType.CHAT_INPUT) !== CommandType.CHAT_INPUT) return null;
  const text = firstString(data.options ?? [])?.trim();
  return text ? text : null;
}

/** The first string option, looking into subcommands too (`/ask question:…` or `/bot ask question:…`). */
function firstString(options: Option[]): string | undefined {
  for (const o of options) {
    if (o.type === OPTION_STRING && typeof o.value === "string") return o.value;
    const nested = o.options ? firstString(o.options) : undefined;
    if (nested !== undefined) return nested;
  }
  return undefined;
}
