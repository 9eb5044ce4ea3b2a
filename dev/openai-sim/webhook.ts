// OpenAI-style webhooks (`response.completed` …), signed per Standard Webhooks with the whsec_ secret.
import { Webhook } from "standardwebhooks";
import { newId, nowSeconds } from "./http.ts";
import { later, type SimState } from "./state.ts";

/** Attempts after the first, in ms before time scaling (upstream retries far longer; this is a dev stand-in). */
export const WEBHOOK_RETRY_DELAYS_MS = [1_000, 5_000];
const WEBHOOK_TIMEOUT_MS = 10_000;

export function sendResponseWebhook(state: SimState, type: string, responseId: string): void {
  const target = state.webhook;
  if (!target || state.closed) return;
  const webhookId = newId("wh").slice(0, 35);
  const body = JSON.stringify({
    id: newId("evt").slice(0, 36),
    object: "event",
    created_at: nowSeconds(),
    type,
    data: { id: responseId },
  });
  const bound = { ...target, epoch: state.epoch };
  // Fault switches: a webhook that never comes, comes late, or comes twice (same webhook-id).
  if (state.faults.take("webhook_drop", type)) return;
  const late = state.faults.take("webhook_delay", type);
  const twice = state.faults.take("webhook_duplicate", type);
  const send = () => void attempt(state, bound, webhookId, body, 0);
  if (late) later(state, late.delayMs ?? 2_000, send);
  else send();
  if (twice) later(state, twice.delayMs ?? 0, send);
}

/** One POST, re-signed with a fresh timestamp each attempt; the webhook-id stays the same. */
async function attempt(
  state: SimState,
  target: { url: string; secret: string; epoch: number },
  webhookId: string,
  body: string,
  index: number,
): Promise<void> {
  const stats = state.stats.webhooks;
  stats.attempts++;
  const now = new Date();
  const controller = new AbortController();
  state.aborts.add(controller);
  const timer = later(state, WEBHOOK_TIMEOUT_MS, () => controller.abort());
  let ok = false;
  try {
    const signature = new Webhook(target.secret).sign(webhookId, now, body);
    const res = await fetch(target.url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: controller.signal,
      headers: {
        "content-type": "application/json",
        "user-agent": "OpenAI/1.0 (threadhook openai-sim)",
        "webhook-id": webhookId,
        "webhook-timestamp": String(nowSeconds(now.getTime())),
        "webhook-signature": signature,
      },
    });
    await res.arrayBuffer().catch(() => undefined);
    ok = res.status >= 200 && res.status < 300;
  } catch {
    ok = false;
  } finally {
    clearTimeout(timer);
    state.timers.delete(timer);
    state.aborts.delete(controller);
  }
  if (ok) {
    stats.delivered++;
    return;
  }
  const delay = WEBHOOK_RETRY_DELAYS_MS[index];
  if (delay === undefined || state.closed || state.epoch !== target.epoch) {
    stats.failed++;
    return;
  }
  later(state, delay * state.timeScale, () => void attempt(state, target, webhookId, body, index + 1));
}
