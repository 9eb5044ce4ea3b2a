/**
 * A run's progress in Discord: each `message.delta` edits the deferred "thinking…" response
 * (`PATCH …/messages/@original`) with the text so far and a trailing " …", cut to one message; the
 * answer then replaces it (deliver.ts). Only within the interaction token's safe life: later, or
 * when Discord says the token is gone, progress is skipped (the answer goes to the channel). Once
 * the preview is a full message, further text of the same response is not edited in again.
 */
import type { RunRecord } from "../../engine/types";
import type { DeliverDeps, DeliverResult, ProgressEventBody } from "../types";
import type { DiscordApi } from "./api";
import { TOKEN_GONE_CODES, TOKEN_SAFE_LIFE_MS } from "./deliver";
import { DISCORD_MAX_CONTENT, splitMessage } from "./format";
import { replyToTarget } from "./reply";

const OK: DeliverResult = { ok: true, status: null, error: null };
const MORE = " …";

/** The text so far as one message: the first part Discord would show, and whether more follows. */
export function discordPreview(text: string): { content: string; cut: boolean } | null {
  if (!text.trim()) return null;
  const parts = splitMessage(text, DISCORD_MAX_CONTENT - MORE.length);
  return { content: `${parts[0] ?? ""}${MORE}`, cut: parts.length > 1 };
}

export async function discordProgress(
  event: ProgressEventBody,
  run: RunRecord,
  reply: Record<string, string>,
  api: DiscordApi,
  deps: DeliverDeps,
): Promise<DeliverResult> {
  if (event.type !== "message.delta" || typeof event.data.text !== "string") return OK;
  const target = replyToTarget(reply);
  if (!target || deps.now() >= target.created_at_ms + TOKEN_SAFE_LIFE_MS) return OK;
  const shown = discordPreview(event.data.text);
  if (!shown) return OK;
  const responseId = String(event.data.response_id ?? "");
  const state = (await deps.replies.get(run.tenant, run.id)) ?? {};
  if (state.full !== undefined && state.full === responseId) return OK;
  const r = await api.editOriginal(target.application_id, target.token, shown.content);
  // The token is gone: the answer will go to the channel; progress has nowhere to show.
  if (!r.ok && r.code !== null && TOKEN_GONE_CODES.has(r.code)) return OK;
  if (r.ok && shown.cut) await deps.replies.set(run.tenant, run.id, { ...state, full: responseId });
  return { ok: r.ok, status: r.status, error: r.ok ? null : `Discord: ${r.error}` };
}
