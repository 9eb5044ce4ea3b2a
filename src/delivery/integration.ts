/**
 * Delivery of a run's events to the integration that started it: instead of a signed POST to a
 * callback URL, the adapter of the integration's type posts to the platform (src/integrations/).
 * The attempt is recorded, and retried with backoff, like any callback's. The run's own event
 * (its end) goes through `deliverToIntegration`; its progress events (`message.delta`: a
 * placeholder edited as the text arrives) through `deliverProgressToIntegration`.
 */
import type { Config } from "../config";
import type { CallbackEvent } from "../engine/present";
import type { IntegrationCallback, RunRecord } from "../engine/types";
import { adapterFor } from "../integrations";
import type { DeliverDeps, DeliverResult, IntegrationAdapter, IntegrationType } from "../integrations/types";
import { errorFields, log } from "../log";
import type { IntegrationRecord, IntegrationStore } from "../store/integrations";
import type { SendResult } from "./send";

export interface IntegrationDeliveryDeps {
  integrations: Pick<IntegrationStore, "get" | "replyState" | "setReplyState">;
}

type Deps = Partial<IntegrationDeliveryDeps> & { config: Config; now: () => number };

export async function deliverToIntegration(
  deps: Deps,
  event: CallbackEvent,
  run: RunRecord,
  target: IntegrationCallback,
): Promise<SendResult> {
  return attempt(deps, run, target, (adapter, integration, d) =>
    adapter.deliver(event, run, integration, target.reply, d),
  );
}

/**
 * A progress event (the outbox's JSON body) of a run an integration started. An adapter without
 * progress support takes it as delivered (the answer comes whole at the end).
 */
export async function deliverProgressToIntegration(
  deps: Deps,
  body: string,
  run: RunRecord,
  target: IntegrationCallback,
): Promise<SendResult> {
  const event = JSON.parse(body) as { id: string; type: string; data: Record<string, unknown> };
  return attempt(deps, run, target, async (adapter, integration, d) =>
    adapter.progress
      ? adapter.progress(event, run, integration, target.reply, d)
      : { ok: true, status: null, error: null },
  );
}

async function attempt(
  deps: Deps,
  run: RunRecord,
  target: IntegrationCallback,
  send: (
    adapter: IntegrationAdapter,
    integration: IntegrationRecord,
    d: DeliverDeps,
  ) => Promise<DeliverResult>,
): Promise<SendResult> {
  const started = deps.now();
  const done = (r: DeliverResult): SendResult => ({
    ...r,
    duration_ms: deps.now() - started,
    reply: null,
    replyText: null,
  });
  const store = deps.integrations;
  const integration = await store?.get(run.tenant, target.integration_id);
  if (!store || !integration) return done({ ok: false, status: null, error: "the integration was deleted" });
  const replies = {
    get: (tenant: string, runId: string) => store.replyState(tenant, runId),
    set: (tenant: string, runId: string, state: Record<string, string>) =>
      store.setReplyState(tenant, runId, state),
  };
  try {
    const adapter = adapterFor(integration.type as IntegrationType);
    return done(await send(adapter, integration, { config: deps.config, now: deps.now, replies }));
  } catch (err) {
    // An adapter's bug or a network failure: a failed attempt (retried), never a failed step.
    log("warn", "an integration's delivery failed", { run_id: run.id, ...errorFields(err) });
    return done({ ok: false, status: null, error: "the platform could not be reached" });
  }
}
