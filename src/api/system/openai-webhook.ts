/**
 * `POST /webhooks/openai`: OpenAI's `response.*` webhooks (configured in the OpenAI dashboard,
 * signed per Standard Webhooks with OPENAI_WEBHOOK_SECRET). A verified "this response ended" becomes
 * an immediate observe step when the response is one of threadhook's (one Redis read decides; the
 * project's other responses cost nothing more); nothing else changes here. Unsigned or forged
 * requests get 401.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { responseOwner } from "../../commands/responses";
import { requireService } from "../../config";
import type { AppEnv } from "../../deps";
import { ApiError } from "../../errors";

const OPENAI_WEBHOOK_PATH = "/webhooks/openai";
/** OpenAI's events carry only ids; anything larger is not one of them. */
const MAX_WEBHOOK_BYTES = 64 * 1024;
const ENDED = new Set(["response.completed", "response.failed", "response.cancelled", "response.incomplete"]);
/** Strategies whose steps end between polls; the others hold the run and see the end themselves. */
const ACCELERATED = new Set(["webhook", "poll"]);

export const openaiWebhook = new Hono<AppEnv>().post(
  OPENAI_WEBHOOK_PATH,
  bodyLimit({
    maxSize: MAX_WEBHOOK_BYTES,
    onError: () => {
      throw new ApiError(413, "body_too_large", `Webhook bodies are limited to ${MAX_WEBHOOK_BYTES} bytes.`);
    },
  }),
  async (c) => {
    const { deps } = c.var;
    const { config } = deps;
    const secret = requireService(config, "openai").webhookSecret;
    if (!secret)
      throw new ApiError(
        503,
        "service_not_configured",
        "OpenAI webhooks are not configured: set OPENAI_WEBHOOK_SECRET.",
      );
    const body = await c.req.text();
    const event = await deps.upstream.verifyWebhook(body, c.req.raw.headers, secret);
    if (event === null) throw new ApiError(401, "invalid_signature", "Missing or invalid webhook signature.");
    const responseId = endedResponseId(event);
    if (!responseId) return c.json({ outcome: "ignored", reason: "not a response.* end event" }, 200);
    if (!ACCELERATED.has(config.drive.strategy))
      return c.json(
        { outcome: "ignored", reason: `the ${config.drive.strategy} strategy follows responses itself` },
        200,
      );
    // OpenAI's webhooks are project-wide: a response that is not threadhook's costs this one read.
    if (!(await responseOwner(deps, responseId)))
      return c.json({ outcome: "ignored", reason: "not a threadhook response" }, 200);
    await deps.queue.notifyEnded(responseId);
    return c.json({ outcome: "scheduled" }, 200);
  },
);

function endedResponseId(event: unknown): string | null {
  if (!event || typeof event !== "object") return null;
  const { type, data } = event as { type?: unknown; data?: { id?: unknown } };
  return typeof type === "string" && ENDED.has(type) && typeof data?.id === "string" ? data.id : null;
}
