/**
 * One interaction Discord POSTs to an integration's inbound URL: verify its Ed25519 signature (401
 * otherwise, and nothing runs), check it is for this integration's application (403), then answer
 * within Discord's 3 seconds: PONG for a PING, a deferred response (type 5) once a run is accepted
 * for a question, an ephemeral note for anything else (Discord shows "This interaction failed" for
 * anything but an interaction response, so a refused run is said in words).
 */
import { z } from "zod";
import { ApiError } from "../../errors";
import { log } from "../../log";
import type { IntegrationRecord } from "../../store/integrations";
import type { InboundDeps, InboundRequest, InboundResponse } from "../types";
import { classify, EPHEMERAL, InteractionSchema, ResponseType } from "./interaction";
import { targetToReply } from "./reply";
import {
  DISCORD_SIGNATURE_HEADER,
  DISCORD_TIMESTAMP_HEADER,
  isPublicKeyHex,
  verifyDiscordSignature,
} from "./verify";

/** What a Discord integration holds, write-only: never in a response or a log. */
export const DiscordCredentials = z.strictObject({
  public_key: z
    .string()
    .trim()
    .refine(isPublicKeyHex, "must be the application's public key (64 hex characters)"),
  application_id: z.string().regex(/^\d{15,22}$/, "must be the application's id (a Discord snowflake)"),
  bot_token: z.string().trim().min(20, "must be the application's bot token").max(200),
});

type InteractionResponse = { type: number; data?: { content: string; flags?: number } };

const answer = (body: InteractionResponse): InboundResponse => ({ status: 200, body });
const ephemeral = (content: string) =>
  answer({ type: ResponseType.CHANNEL_MESSAGE, data: { content, flags: EPHEMERAL } });

const REFUSED = {
  missing_signature: "X-Signature-Ed25519 and X-Signature-Timestamp are required.",
  bad_signature: "X-Signature-Ed25519 does not verify with this integration's public key.",
  stale_timestamp: "X-Signature-Timestamp is more than 5 minutes from now.",
} as const;

export async function discordInbound(
  req: InboundRequest,
  integration: IntegrationRecord,
  deps: InboundDeps,
): Promise<InboundResponse> {
  const verdict = await verifyDiscordSignature({
    publicKeyHex: integration.credentials.public_key ?? "",
    signatureHex: req.headers.get(DISCORD_SIGNATURE_HEADER),
    timestamp: req.headers.get(DISCORD_TIMESTAMP_HEADER),
    body: new TextEncoder().encode(req.body),
    nowMs: deps.now(),
  });
  if (!verdict.ok) throw new ApiError(401, "invalid_signature", REFUSED[verdict.reason]);
  const parsed = InteractionSchema.safeParse(parseJson(req.body));
  if (!parsed.success)
    throw new ApiError(400, "invalid_interaction", "The body is not a Discord interaction.");
  if (parsed.data.application_id !== integration.credentials.application_id)
    throw new ApiError(403, "wrong_application", "This interaction is for another Discord application.");
  const what = classify(parsed.data);
  if (what.kind === "ping") return answer({ type: ResponseType.PONG });
  if (what.kind === "reply") return ephemeral(what.content);
  const started = await deps.startRun({
    conversation: what.conversationKey,
    text: what.prompt,
    reply: targetToReply(what.target),
    dedupKey: `interaction.${what.target.interaction_id}`,
    metadata: {
      discord_guild: parsed.data.guild_id ?? "dm",
      discord_channel: what.target.channel_id,
      discord_user: what.target.user_id,
    },
  });
  if (!started.ok) {
    log("warn", "a Discord question was refused", { integration_id: integration.id, code: started.code });
    return ephemeral(`Sorry, I can't answer right now: ${started.message}`);
  }
  return answer({ type: ResponseType.DEFERRED_CHANNEL_MESSAGE });
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}
