/**
 * Delivery of a run's event to the integration that started it: instead of a signed POST to a
 * callback URL, the adapter of the integration's type posts the answer to the platform
 * (src/integrations/). The attempt is recorded, and retried with backoff, like any callback's.
 */
import type { Config } from "../config";
import type { CallbackEvent } from "../engine/present";
import type { IntegrationCallback, RunRecord } from "../engine/types";
import { adapterFor } from "../integrations";
import type { DeliverResult, IntegrationType } from "../integrations/types";
import { errorFields, log } from "../log";
import type { IntegrationStore } from "../store/integrations";
import type { SendResult } from "./send";

export interface IntegrationDeliveryDeps {
  integrations: Pick<IntegrationStore, "get">;
}

export async function deliverToIntegration(
  deps: Partial<IntegrationDeliveryDeps> & { config: Config; now: () => number },
  event: CallbackEvent,
  run: RunRecord,
  target: IntegrationCallback,
): Promise<SendResult & { progress?: Record<string, string> }> {
  const started = deps.now();
  const done = (r: DeliverResult): SendResult & { progress?: Record<string, string> } => ({
    ...r,
    duration_ms: deps.now() - started,
    reply: null,
    replyText: null,
  });
  const integration = await deps.integrations?.get(run.tenant, target.integration_id);
  if (!integration) return done({ ok: false, status: null, error: "the integration was deleted" });
  try {
    const adapter = adapterFor(integration.type as IntegrationType);
    return done(await adapter.deliver(event, run, integration, target.reply, deps));
  } catch (err) {
    // An adapter's bug or a network failure: a failed attempt (retried), never a failed step.
    log("warn", "an integration's delivery failed", { run_id: run.id, ...errorFields(err) });
    return done({ ok: false, status: null, error: "the platform could not be reached" });
  }
}
