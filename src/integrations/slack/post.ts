/**
 * A run's answer posted to Slack: the text as mrkdwn, generated files as download links, split over
 * the message limit; into the thread (`chat.postMessage` with `thread_ts`) or through a slash
 * command's `response_url`. A run that did not complete says so in one short, friendly message with
 * its id for support.
 */
import type { CallbackEvent } from "../../engine/present";
import type { RunRecord } from "../../engine/types";
import { log } from "../../log";
import type { IntegrationRecord } from "../../store/integrations";
import type { DeliverDeps, DeliverResult } from "../types";
import { postToResponseUrl, type SlackCall, slackApi } from "./api";
import type { SlackOptions } from "./events";
import { splitMessage, toMrkdwn } from "./format";

/** A response_url takes five posts; an answer longer than that is cut with a note. */
const RESPONSE_URL_POSTS = 5;

const ENDED: Record<string, string> = {
  failed: "something went wrong while answering",
  cancelled: "the answer was cancelled",
  expired: "the answer took too long",
  incomplete: "the answer was cut short",
};

/** The text of a run's answer as Slack shows it (mrkdwn, file links, or the friendly error). */
export function answerText(event: CallbackEvent, run: RunRecord): string {
  if (run.status !== "completed") {
    const why = ENDED[run.status] ?? `the run ended ${run.status}`;
    return `Sorry, I couldn't answer: ${why}. (Reference: \`${run.id}\`)`;
  }
  const text = toMrkdwn(run.output?.text ?? "") || "_(no answer)_";
  const files = (event.data.run as { files?: { filename: string; download_url?: string }[] }).files ?? [];
  const links = files
    .filter((f) => f.download_url)
    .map((f) => `• <${f.download_url}|${f.filename.replace(/[<>|]/g, "_")}>`);
  return links.length > 0 ? `${text}\n\n*Files:*\n${links.join("\n")}` : text;
}

export async function postAnswer(
  event: CallbackEvent,
  run: RunRecord,
  integration: IntegrationRecord,
  reply: Record<string, string>,
  o: SlackOptions,
  deps: DeliverDeps,
): Promise<DeliverResult> {
  return postText(integration, reply, answerText(event, run), o, deps, run.id);
}

/** Post text (split as needed) where `reply` says; the first failed post ends the attempt. */
export async function postText(
  integration: IntegrationRecord,
  reply: Record<string, string>,
  text: string,
  o: SlackOptions,
  deps: DeliverDeps,
  runId?: string,
): Promise<DeliverResult> {
  let parts = splitMessage(text, o.max_message_chars);
  const api = {
    apiUrl: deps.config.slackApiUrl,
    token: integration.credentials.bot_token ?? "",
    devMode: deps.config.devMode,
  };
  let last: SlackCall = { ok: true, status: null, error: null, body: null };
  if (reply.mode === "response_url") {
    if (parts.length > RESPONSE_URL_POSTS)
      parts = [
        ...parts.slice(0, RESPONSE_URL_POSTS - 1),
        "_(The answer is too long for a command reply; it was cut.)_",
      ];
    for (const part of parts) {
      last = await postToResponseUrl(
        reply.response_url ?? "",
        { response_type: reply.response_type ?? "in_channel", text: part, replace_original: false },
        deps.config.devMode,
      );
      if (!last.ok) break;
    }
  } else {
    for (const part of parts) {
      last = await slackApi(api, "chat.postMessage", {
        channel: reply.channel,
        thread_ts: reply.thread_ts,
        text: part,
        mrkdwn: true,
        unfurl_links: false,
      });
      if (!last.ok) break;
    }
  }
  if (!last.ok)
    log("warn", "Slack refused a post", {
      integration_id: integration.id,
      run_id: runId,
      slack_error: last.error,
    });
  return { ok: last.ok, status: last.status, error: last.ok ? null : `Slack: ${last.error}` };
}
