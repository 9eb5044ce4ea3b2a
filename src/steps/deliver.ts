/**
 * The deliver step: drains a run's outbox (store/outbox.ts) in order, one event at a time, from
 * its own QStash message — never inside a drive step, so a slow callback receiver holds no step
 * that reads a model's stream. Each event is signed like the final one (Standard Webhooks, the
 * tenant's live secrets) and retried with the deliveries' backoff (DELIVERY_RETRIES,
 * DELIVERY_BACKOFF_S); one that fails for good is passed (counted in the run's delivery state).
 * A wait longer than a moment (a retry's backoff) ends the step and publishes the next one then.
 * `message.delta` events are spaced by the run's interval at the receiver too. When the head is the
 * runner's event (requires_action, the end) the step ends: the runner sends that one.
 */
import { DELIVERY_TIMEOUT_MS } from "../engine/constants";
import { deliveryRetryMs } from "../engine/run";
import { sendSigned } from "../delivery/send";
import { deliverProgressToIntegration } from "../delivery/integration";
import type { DeliverMessage } from "../queue/steps";
import { isIntegrationCallback } from "../engine/types";
import { newId } from "../store/ids";
import { log } from "../log";
import type { Deps } from "../deps";
import { writeOutcome } from "./outcome";

/** Events one deliver step sends at most (a Worker's subrequests: one POST and two Redis calls each). */
const MAX_EVENTS_PER_STEP = 12;
/** A wait up to this long is slept through; longer ones end the step and publish the next. */
const INLINE_WAIT_MAX_MS = 2_000;
/** The outbox's lease: longer than a step sends (its events' timeouts). */
const LEASE_MS = MAX_EVENTS_PER_STEP * DELIVERY_TIMEOUT_MS + 10_000;
/** An idle outbox that had an event appended this recently is looked at again after LINGER_DELAY_MS. */
const LINGER_MS = 3_000;
const LINGER_DELAY_MS = 1_000;

export type DeliverOutcome = "drained" | "busy" | "runner" | "scheduled" | "missing";

export type DeliverDeps = Pick<
  Deps,
  "runs" | "queue" | "config" | "webhookSecrets" | "now" | "sleep" | "integrations"
>;

export async function deliverStep(deps: DeliverDeps, msg: DeliverMessage): Promise<DeliverOutcome> {
  const { tenant, run_id: runId } = msg;
  const found = await deps.runs.get(tenant, runId);
  const callback = found?.run.callback;
  if (!found || !callback) return "missing";
  const outbox = deps.runs.outbox;
  const owner = newId("lease");
  const interval = found.run.progress?.interval_ms ?? 0;
  let secrets: string[] | null = null;
  for (let sent = 0; ; ) {
    const now = deps.now();
    const head = await outbox.head(tenant, runId, owner, now, LEASE_MS, LINGER_MS);
    if (head.kind === "busy") return "busy";
    if (head.kind === "runner") return "runner";
    if (head.kind === "idle") return "drained";
    if (head.kind !== "event") return yieldFor(deps, msg, owner, LINGER_DELAY_MS);
    if (sent >= MAX_EVENTS_PER_STEP) return yieldFor(deps, msg, owner, 0);
    const event = parseEvent(head.body);
    const isDelta = event.type === "message.delta";
    const due = Math.max(head.notBeforeMs, isDelta && head.lastDeltaMs > 0 ? head.lastDeltaMs + interval : 0);
    if (due > now) {
      if (due - now > INLINE_WAIT_MAX_MS) return yieldFor(deps, msg, owner, due - now);
      await deps.sleep(due - now);
    }
    // An integration's run: its adapter shows the progress on the platform (Slack edits a placeholder).
    if (!isIntegrationCallback(callback)) secrets ??= await deps.webhookSecrets(tenant);
    const result = isIntegrationCallback(callback)
      ? await deliverProgressToIntegration(deps, head.body, found.run, callback)
      : await sendSigned({
          url: callback.url,
          body: head.body,
          webhookId: event.id,
          secrets: secrets ?? [],
          headers: callback.headers,
          timeoutMs: DELIVERY_TIMEOUT_MS,
          policy: { devMode: deps.config.devMode },
          now: deps.now,
        });
    sent++;
    const retryMs = result.ok
      ? null
      : deliveryRetryMs(head.failures + 1, deps.config.deliveryRetries, deps.config.deliveryBackoffS);
    const outcome = result.ok ? "ok" : retryMs === null ? "failed" : "retry";
    if (outcome !== "ok")
      log("warn", "progress event delivery failed", {
        run_id: runId,
        seq: head.seq,
        error: result.error,
        outcome,
      });
    // The receiver may have the event: a failed record would have QStash's retry send it again.
    const held = await writeOutcome(deps, { run_id: runId, event_id: event.id }, () =>
      outbox.record(
        tenant,
        runId,
        owner,
        {
          seq: head.seq,
          outcome,
          notBeforeMs: deps.now() + (retryMs ?? 0),
          error: result.error ?? "",
          isDelta,
        },
        deps.now(),
      ),
    );
    if (!held) return "busy";
  }
}

/** End this step; the next one comes after `delayMs` (the outbox says it is due then). */
async function yieldFor(deps: DeliverDeps, msg: DeliverMessage, owner: string, delayMs: number) {
  const now = deps.now();
  await deps.runs.outbox.release(msg.tenant, msg.run_id, owner, now + delayMs);
  await deps.queue.publishDeliver(msg, { delayMs, reason: `y${now}` });
  return "scheduled" as const;
}

/** The event's id (its `webhook-id`) and type, from its JSON. */
function parseEvent(body: string): { id: string; type: string } {
  const parsed = JSON.parse(body) as { id?: unknown; type?: unknown };
  return { id: String(parsed.id ?? ""), type: String(parsed.type ?? "") };
}
