/**
 * One interaction Discord POSTs to an integration's inbound URL: verify its Ed25519 signature (401
 * otherwise, and nothing runs), check it is for this integration's application (403), then answer
 * within Discord's 3 seconds: PONG for a PING, a deferred response (type 5) once a run is accepted
 * for a question, an ephemeral note for anything else. The run itself is started by the caller's
 * `startRun` (the integrations resource: the integration's assistant and tenant, the callback
 * target), which is all this file needs to know about it.
 */
import { z } from "zod";
import { ApiError } from "../../errors";
import { errorFields, log } from "../../log";
import { classify, type DiscordTarget, EPHEMERAL, InteractionSchema, ResponseType } from "./interaction";
import {
  DISCORD_SIGNATURE_HEADER,
  DISCORD_TIMESTAMP_HEADER,
  isPublicKeyHex,
  verifyDiscordSignature,
} from "./verify";

/** What a Discord integration holds, write-only: never in a response or a log. */
export const DiscordCredentialsSchema = z.strictObject({
  public_key: z.string().refine(isPublicKeyHex, "must be the application's public key: 64 hex characters"),
  application_id: z.string().regex(/^\d{15,22}$/, "must be the application's id (a Discord snowflake)"),
  bot_token: z.string().trim().min(20, "must be the bot's token").max(200),
});
export type DiscordCredentials = z.infer<typeof DiscordCredentialsSchema>;

export interface AskRequest {
  conversationKey: string;
  text: string;
  target: DiscordTarget;
  /** One run per interaction, whatever reaches the inbound URL twice. */
  idempotencyKey: string;
}

export interface InboundDeps {
  now: () => number;
  startRun: (ask: AskRequest) => Promise<{ runId: string }>;
}

export type InteractionResponse = { type: number; data?: { content: string; flags?: number } };

const ephemeral = (content: string): InteractionResponse => ({
  type: ResponseType.CHANNEL_MESSAGE,
  data: { content, flags: EPHEMERAL },
});

export async function discordInbound(
  deps: InboundDeps,
  credentials: Pick<DiscordCredentials, "public_key" | "application_id">,
  body: Uint8Array,
  headers: Headers,
): Promise<InteractionResponse> {
  const verdict = await verifyDiscordSignature({
    publicKeyHex: credentials.public_key,
    signatureHex: headers.get(DISCORD_SIGNATURE_HEADER),
    timestamp: headers.get(DISCORD_TIMESTAMP_HEADER),
    body,
    nowMs: deps.now(),
  });
  if (!verdict.ok)
    throw new ApiError(401, signatureRefusal[verdict.reason].code, signatureRefusal[verdict.reason].message);
  const interaction = InteractionSchema.safeParse(parseJson(body));
  if (!interaction.success)
    throw new ApiError(400, "invalid_interaction", "The body is not a Discord interaction.");
  if (interaction.data.application_id !== credentials.application_id)
    throw new ApiError(403, "integration_mismatch", "This interaction is for another Discord application.");
  const what = classify(interaction.data);
  if (what.kind === "ping") return { type: ResponseType.PONG };
  if (what.kind === "reply") return ephemeral(what.content);
  try {
    const { runId } = await deps.startRun({
      conversationKey: what.conversationKey,
      text: what.prompt,
      target: what.target,
      idempotencyKey: `discord:${what.target.interaction_id}`,
    });
    log("info", "discord interaction accepted", {
      run_id: runId,
      interaction_id: what.target.interaction_id,
    });
    return { type: ResponseType.DEFERRED_CHANNEL_MESSAGE };
  } catch (err) {
    // Discord shows "This interaction failed" for anything but an interaction response: say why.
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    log("warn", "discord interaction refused", { code: err.code, ...errorFields(err) });
    return ephemeral(`Sorry, I can't take that question right now (${err.code ?? err.status}).`);
  }
}

const signatureRefusal = {
  missing_signature: {
    code: "signature_missing",
    message: "X-Signature-Ed25519 and X-Signature-Timestamp are required.",
  },
  bad_signature: {
    code: "signature_invalid",
    message: "The interaction's signature does not verify with the integration's public key.",
  },
  stale_timestamp: {
    code: "signature_stale",
    message: "X-Signature-Timestamp is more than 5 minutes away from now.",
  },
} as const;

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return null;
  }
}
