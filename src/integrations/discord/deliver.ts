/**
 * Posting a run's answer back to Discord. Within the interaction token's life the answer replaces
 * the deferred "thinking…" response (edit original) and further parts are follow-ups; after it
 * (or when Discord says the token is gone) the rest goes to the channel as bot messages that ping
 * the asker. `sent` counts the parts already posted, so a retried delivery never posts one twice
 * (editing the original again is harmless: it is the same edit).
 */
import { isTerminal, type RunRecord } from "../../engine/types";
import type { DiscordApi, DiscordCall } from "./api";
import { friendlyEnding, splitMessage } from "./format";
import type { DiscordTarget } from "./interaction";

/** Discord's interaction tokens live 15 minutes from the interaction. */
export const INTERACTION_TOKEN_LIFE_MS = 15 * 60_000;
/** Past this age the token is not trusted for one more call: the channel gets the answer. */
export const TOKEN_SAFE_LIFE_MS = INTERACTION_TOKEN_LIFE_MS - 60_000;
/** Discord's answers when a webhook token is expired or unknown. */
export const TOKEN_GONE_CODES = new Set([50027, 10015]);

/** What the bot says for a run, or null while the run has nothing to say yet (not ended). */
export function messageFor(run: Pick<RunRecord, "id" | "status" | "output">): string | null {
  if (!isTerminal(run.status)) return null;
  const text = run.output?.text.trim() ?? "";
  if (run.status === "completed" && text) return text;
  if (run.status === "incomplete" && text) return `${text}\n\n${friendlyEnding("incomplete", run.id)}`;
  return friendlyEnding(run.status, run.id);
}

export interface DiscordDelivery {
  ok: boolean;
  status: number | null;
  error: string | null;
  /** Another attempt later may succeed. */
  retryable: boolean;
  /** Parts posted so far (all of them when `ok`). */
  sent: number;
  parts: number;
  via: "webhook" | "channel";
}

export async function deliverToDiscord(opts: {
  api: DiscordApi;
  botToken: string;
  target: DiscordTarget;
  text: string;
  /** Parts a previous attempt posted. */
  sent: number;
  nowMs: number;
}): Promise<DiscordDelivery> {
  const { api, target } = opts;
  const parts = splitMessage(opts.text);
  let via: DiscordDelivery["via"] =
    opts.nowMs < target.created_at_ms + TOKEN_SAFE_LIFE_MS ? "webhook" : "channel";
  let sent = Math.min(opts.sent, parts.length);
  let last: DiscordCall | null = null;
  while (sent < parts.length) {
    const part = parts[sent] as string;
    if (via === "webhook") {
      last =
        sent === 0
          ? await api.editOriginal(target.application_id, target.token, part)
          : await api.followUp(target.application_id, target.token, part);
      if (!last.ok && last.code !== null && TOKEN_GONE_CODES.has(last.code)) {
        via = "channel";
        continue;
      }
    } else {
      const ping = sent === 0 && part.length + target.user_id.length + 4 <= 2000;
      const content = ping ? `<@${target.user_id}> ${part}` : part;
      last = await api.channelMessage(
        opts.botToken,
        target.channel_id,
        content,
        ping ? target.user_id : null,
      );
    }
    if (!last.ok) break;
    sent++;
  }
  const ok = sent >= parts.length;
  return {
    ok,
    status: last?.status ?? null,
    error: ok ? null : (last?.error ?? "not delivered"),
    retryable: ok ? false : (last?.retryable ?? true),
    sent,
    parts: parts.length,
    via,
  };
}
