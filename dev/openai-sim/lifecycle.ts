// A response's life: queued → in_progress → completed | failed | incomplete, or cancelled on request.
import { nowSeconds, SimError } from "./http.ts";
import { isTerminal, later, notify, type ResponseRecord, type SimState, type Status } from "./state.ts";
import { sendResponseWebhook } from "./webhook.ts";

/** The response object as the API returns it at `status` (output and usage only once finished). */
export function responseObject(
  record: ResponseRecord,
  status: Status = record.status,
): Record<string, unknown> {
  const finished = status === "completed" || status === "incomplete";
  const p = record.params;
  return {
    id: record.id,
    object: "response",
    created_at: nowSeconds(record.createdAtMs),
    status,
    background: record.background,
    completed_at: status === "completed" ? nowSeconds(record.completedAtMs ?? record.terminalAtMs) : null,
    conversation: record.conversationId ? { id: record.conversationId } : null,
    error: status === "failed" ? record.plan.fail : null,
    incomplete_details: status === "incomplete" ? { reason: record.plan.incomplete } : null,
    instructions: p.instructions ?? null,
    max_output_tokens: p.max_output_tokens ?? null,
    max_tool_calls: null,
    model: p.model,
    output: finished ? record.output : [],
    parallel_tool_calls: p.parallel_tool_calls ?? true,
    previous_response_id: record.previousResponseId,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: "default",
    store: p.store ?? true,
    temperature: p.temperature ?? 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: p.tool_choice ?? "auto",
    tools: p.tools ?? [],
    top_p: p.top_p ?? 1,
    truncation: p.truncation ?? "disabled",
    usage: finished ? record.usage : null,
    user: null,
    metadata: p.metadata ?? {},
  };
}

/** Timers for the two planned transitions; the terminal one records the exact completion time. */
export function schedule(state: SimState, record: ResponseRecord): void {
  const now = Date.now();
  later(state, record.inProgressAtMs - now, () => {
    if (record.status !== "queued") return;
    record.status = "in_progress";
    notify(record);
  });
  later(state, record.terminalAtMs - now, () => finalize(state, record));
}

function finalize(state: SimState, record: ResponseRecord): void {
  if (isTerminal(record.status) || state.responses.get(record.id) !== record) return;
  record.status = record.final;
  record.completedAtMs = Date.now();
  const last = record.events[record.events.length - 1];
  if (last) last.data.response = responseObject(record);
  const conversation = record.conversationId ? state.conversations.get(record.conversationId) : undefined;
  if (conversation && record.final !== "failed") conversation.items.push(...record.input, ...record.output);
  settle(state, record);
}

export function cancel(state: SimState, record: ResponseRecord): Record<string, unknown> {
  if (!record.background) throw new SimError(400, "Cannot cancel a synchronous response.", { param: null });
  if (isTerminal(record.status)) return responseObject(record); // idempotent, as upstream
  const now = Date.now();
  record.status = "cancelled";
  record.completedAtMs = now;
  // The stream ends where the model stopped: no later events, and no terminal event (there is none upstream).
  record.events = record.events.filter((event, i) => event.atMs <= now && i < record.events.length - 1);
  settle(state, record);
  return responseObject(record);
}

/** Terminal bookkeeping: release the conversation, count, wake streams and waiters, webhook. */
function settle(state: SimState, record: ResponseRecord): void {
  const conversation = record.conversationId ? state.conversations.get(record.conversationId) : undefined;
  if (conversation?.activeResponseId === record.id) conversation.activeResponseId = null;
  const byStatus = state.stats.responsesByStatus;
  byStatus[record.status] = (byStatus[record.status] ?? 0) + 1;
  notify(record);
  if (record.background) sendResponseWebhook(state, `response.${record.status}`, record.id);
}

/** Deleting a running response stops it silently (no webhook) and frees its conversation. */
export function remove(state: SimState, record: ResponseRecord): void {
  state.responses.delete(record.id);
  const conversation = record.conversationId ? state.conversations.get(record.conversationId) : undefined;
  if (conversation?.activeResponseId === record.id) conversation.activeResponseId = null;
  notify(record);
}
