/**
 * The Slack adapter: the Events API (mentions, direct messages, replies in threads the bot is in),
 * slash commands and message shortcuts in; threaded replies (`chat.postMessage`) and slash command
 * answers (`response_url`) out. See docs/integrations.md.
 */
import { z } from "zod";
import { ApiError } from "../../errors";
import { log } from "../../log";
import type { IntegrationAdapter, InboundDeps, InboundResponse } from "../types";
import { slackApi } from "./api";
import {
  type SlackAsk,
  type SlackDecision,
  type SlackOptions,
  decideCommand,
  decideEvent,
  decideInteraction,
} from "./events";
import { postAnswer, postProgress, postText } from "./post";
import { verifySlackRequest } from "./verify";

const Credentials = z.strictObject({
  signing_secret: z.string().min(8).max(256),
  bot_token: z.string().regex(/^xox[a-z]-[A-Za-z0-9-]{8,250}$/, "must be a Slack bot token (xoxb-…)"),
});

const Options = z.strictObject({
  team_id: z
    .string()
    .regex(/^[TE][A-Z0-9]{2,31}$/, "must be a Slack team id (T…)")
    .optional(),
  app_id: z
    .string()
    .regex(/^A[A-Z0-9]{2,31}$/, "must be a Slack app id (A…)")
    .optional(),
  bot_user_id: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,31}$/)
    .optional(),
  bot_id: z
    .string()
    .regex(/^B[A-Z0-9]{2,31}$/)
    .optional(),
  respond_to_bots: z.boolean().default(false),
  respond_to_edits: z.boolean().default(false),
  slash_response: z.enum(["in_channel", "ephemeral"]).default("in_channel"),
  max_message_chars: z.number().int().min(500).max(40_000).default(3900),
});

const options = (i: { options: Record<string, unknown> }) => Options.parse(i.options) as SlackOptions;

export const slack: IntegrationAdapter = {
  type: "slack",
  credentials: Credentials,
  options: Options,

  /** team_id and app_id (and the bot's own ids) from `auth.test`, unless both are given. */
  async prepare(credentials, given, deps) {
    if (given.team_id && given.app_id) return given;
    const r = await slackApi(
      { apiUrl: deps.config.slackApiUrl, token: credentials.bot_token ?? "", devMode: deps.config.devMode },
      "auth.test",
      {},
    );
    if (!r.ok || !r.body)
      throw new ApiError(
        r.error === "invalid_auth" || r.error === "not_authed" || r.error === "account_inactive" ? 400 : 502,
        "slack_auth_failed",
        `Slack's auth.test refused the bot token (${r.error}); check credentials.bot_token, or give options.team_id and options.app_id.`,
        { param: "credentials.bot_token" },
      );
    const str = (k: string) => (typeof r.body?.[k] === "string" ? (r.body[k] as string) : undefined);
    const learned = {
      team_id: str("team_id"),
      app_id: str("app_id"),
      bot_user_id: str("user_id"),
      bot_id: str("bot_id"),
    };
    return Object.fromEntries(
      Object.entries({ ...learned, ...given }).filter(([, v]) => v !== undefined),
    ) as Record<string, unknown>;
  },

  async handleInbound(req, integration, deps) {
    const secret = integration.credentials.signing_secret ?? "";
    const verdict = await verifySlackRequest(secret, req.headers, req.body, deps.now());
    if (verdict !== "ok")
      throw new ApiError(
        401,
        "invalid_signature",
        verdict === "stale"
          ? "X-Slack-Request-Timestamp is more than 5 minutes from now."
          : "X-Slack-Signature does not match this integration's signing secret.",
      );
    const o = options(integration);
    const decision = decide(req.headers.get("content-type") ?? "", req.body, o);
    return act(decision, integration, o, deps);
  },

  async progress(event, run, integration, reply, deps) {
    return postProgress(event, run, integration, reply, options(integration), deps);
  },

  async deliver(event, run, integration, reply, deps) {
    // A run waiting for tool outputs has nothing to say in Slack (it expires, then says so).
    if (event.type === "run.requires_action") return { ok: true, status: null, error: null };
    return postAnswer(event, run, integration, reply, options(integration), deps);
  },
};

function decide(contentType: string, body: string, o: SlackOptions): SlackDecision {
  if (contentType.includes("application/json")) {
    try {
      return decideEvent(JSON.parse(body), o);
    } catch {
      throw new ApiError(400, "invalid_json", "The Events API request is not JSON.");
    }
  }
  if (contentType.includes("application/x-www-form-urlencoded")) {
    const form = new URLSearchParams(body);
    const payload = form.get("payload");
    return payload !== null ? decideInteraction(payload, o) : decideCommand(form, o);
  }
  throw new ApiError(
    415,
    "unsupported_media_type",
    "Slack sends JSON (events) or a form (commands, interactivity).",
  );
}

async function act(
  d: SlackDecision,
  integration: Parameters<IntegrationAdapter["handleInbound"]>[1],
  o: SlackOptions,
  deps: InboundDeps,
): Promise<InboundResponse> {
  switch (d.kind) {
    case "challenge":
      return { status: 200, body: { challenge: d.challenge } };
    case "forbidden":
      throw new ApiError(403, "wrong_workspace", d.message);
    case "ignore":
      log("debug", "a Slack request asks for nothing", { integration_id: integration.id, reason: d.reason });
      return { status: 200, body: { ok: true } };
    case "usage":
      return { status: 200, body: { response_type: "ephemeral", text: d.text } };
    case "ask":
      return ask(d.ask, d.ack, integration, o, deps);
  }
}

async function ask(
  a: SlackAsk,
  ack: "empty" | "ephemeral",
  integration: Parameters<IntegrationAdapter["handleInbound"]>[1],
  o: SlackOptions,
  deps: InboundDeps,
): Promise<InboundResponse> {
  if (a.onlyInKnownThread && !(await deps.hasConversation(a.conversation)))
    return { status: 200, body: { ok: true } };
  const started = await deps.startRun({
    conversation: a.conversation,
    text: a.text,
    reply: a.reply,
    dedupKey: a.dedupKey,
    metadata: { slack_team: a.team, slack_user: a.user },
  });
  if (!started.ok) {
    const text = `Sorry, I can't answer right now: ${started.message}`;
    if (ack === "ephemeral") return { status: 200, body: { response_type: "ephemeral", text } };
    deps.background(postText(integration, a.reply, text, o, deps));
    return { status: 200, body: { ok: true } };
  }
  if (ack === "ephemeral")
    return {
      status: 200,
      body: { response_type: "ephemeral", text: `Thinking… (${started.runId})` },
    };
  return { status: 200, body: { ok: true } };
}
