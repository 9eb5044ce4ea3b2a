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
import type { DeliverDeps, DeliverResult, ProgressEventBody } from "../types";
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
  // A cut-short answer keeps its text (with progress, the thread has been showing it).
  const partial = run.status === "incomplete" ? toMrkdwn(run.output?.text ?? "") : "";
  if (partial) return `${partial}\n\n_(The answer was cut short. Reference: \`${run.id}\`)_`;
  if (run.status !== "completed") {
    const why = ENDED[run.status] ?? `the run ended ${run.status}`;
    return `Sorry, I couldn't answer: ${why}. (Reference: \`${run.id}\`)`;
  }
  const text = toMrkdwn(run.output?.text ?? "") || "_(no answer)_";
  const files = (event.data.run as { files?: { filename: string; download_url?: string }[] }).files ?? [];
  const links = files
    .filter((f) => f.download_url)
    // Slack reads `&`, `<`, `>` as markup: escaped in the URL, kept out of the name.
    .map((f) => `• <${f.download_url?.replace(/&/g, "&amp;")}|${f.filename.replace(/[<>|&]/g, "_")}>`);
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
  return postText(integration, reply, answerText(event, run), o, deps, run);
}

/** The placeholder a run's first progress shows, until text arrives. */
export const PLACEHOLDER = "_Thinking…_";

/**
 * A progress event into the thread: the first posts a placeholder (the text so far, or
 * "Thinking…"), later `message.delta` events edit it with the text so far (cut to one message).
 * A command's answer comes whole through its response_url.
 */
export async function postProgress(
  event: ProgressEventBody,
  run: RunRecord,
  integration: IntegrationRecord,
  reply: Record<string, string>,
  o: SlackOptions,
  deps: DeliverDeps,
): Promise<DeliverResult> {
  const ok = { ok: true, status: null, error: null };
  if (reply.mode !== "thread") return ok;
  const shown =
    event.type === "message.delta" && typeof event.data.text === "string"
      ? preview(event.data.text, o.max_message_chars)
      : event.type === "run.in_progress"
        ? { text: PLACEHOLDER, cut: false }
        : null;
  if (shown === null) return ok;
  const state = (await deps.replies.get(run.tenant, run.id)) ?? {};
  if (state.ts && event.type !== "message.delta") return ok;
  // Once the preview is a full message, more text of the same response changes nothing on screen:
  // no edit (Slack limits chat.update's rate) until the answer replaces it.
  const responseId = String(event.data.response_id ?? "");
  if (state.ts && state.full !== undefined && state.full === responseId) return ok;
  const api = apiOf(integration, deps);
  const r = state.ts
    ? await slackApi(api, "chat.update", { channel: reply.channel, ts: state.ts, text: shown.text })
    : await slackApi(api, "chat.postMessage", {
        channel: reply.channel,
        thread_ts: reply.thread_ts,
        text: shown.text,
      });
  const ts = state.ts ?? (typeof r.body?.ts === "string" ? r.body.ts : undefined);
  if (r.ok && ts && (ts !== state.ts || shown.cut))
    await deps.replies.set(run.tenant, run.id, { ...state, ts, ...(shown.cut ? { full: responseId } : {}) });
  return outcome(r, integration, run.id);
}

/** The text so far as mrkdwn, cut to one message with an ellipsis (`cut`: there was more). */
function preview(text: string, max: number): { text: string; cut: boolean } {
  const md = toMrkdwn(text) || PLACEHOLDER;
  return md.length <= max - 2
    ? { text: `${md} …`, cut: false }
    : { text: `${md.slice(0, max - 2)} …`, cut: true };
}

const apiOf = (integration: IntegrationRecord, deps: Pick<DeliverDeps, "config">) => ({
  apiUrl: deps.config.slackApiUrl,
  token: integration.credentials.bot_token ?? "",
  devMode: deps.config.devMode,
});

function outcome(last: SlackCall, integration: IntegrationRecord, runId?: string): DeliverResult {
  if (!last.ok)
    log("warn", "Slack refused a post", {
      integration_id: integration.id,
      run_id: runId,
      slack_error: last.error,
    });
  return { ok: last.ok, status: last.status, error: last.ok ? null : `Slack: ${last.error}` };
}

/**
 * Post text (split as needed) where `reply` says; the first failed post ends the attempt. For a
 * run's answer in a thread, its placeholder (if progress posted one) becomes the first part, and
 * the parts already posted are remembered, so a retry after a failed part posts only the rest.
 */
export async function postText(
  integration: IntegrationRecord,
  reply: Record<string, string>,
  text: string,
  o: SlackOptions,
  deps: Omit<DeliverDeps, "replies"> & Partial<Pick<DeliverDeps, "replies">>,
  run?: RunRecord,
): Promise<DeliverResult> {
  let parts = splitMessage(text, o.max_message_chars);
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
    return outcome(last, integration, run?.id);
  }
  const api = apiOf(integration, deps);
  const replies = run ? deps.replies : undefined;
  const state = (run && (await replies?.get(run.tenant, run.id))) || {};
  for (let i = Number(state.parts ?? 0); i < parts.length; i++) {
    const part = parts[i] as string;
    last =
      i === 0 && state.ts
        ? await slackApi(api, "chat.update", { channel: reply.channel, ts: state.ts, text: part })
        : await slackApi(api, "chat.postMessage", {
            channel: reply.channel,
            thread_ts: reply.thread_ts,
            text: part,
            mrkdwn: true,
            unfurl_links: false,
          });
    if (!last.ok) break;
    if (run && parts.length > 1) await replies?.set(run.tenant, run.id, { ...state, parts: String(i + 1) });
  }
  return outcome(last, integration, run?.id);
}
