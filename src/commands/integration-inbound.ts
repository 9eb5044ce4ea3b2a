/**
 * A platform's request to an integration's inbound URL (`/v1/integrations/{id}/events`): find the
 * integration by its id alone (no API key: the global id → tenant index), hand the request to the
 * adapter of its type, which verifies the platform's signature and asks for runs. A run started
 * this way is the integration's assistant's, on the platform's conversation key, with the
 * integration as its callback; the adapter's dedup key is its idempotency key, so a platform's
 * retry of one event starts no second run (and one still being written counts as started).
 */
import type { Config } from "../config";
import { ApiError, notFound } from "../errors";
import { adapterFor } from "../integrations";
import type {
  InboundRequest,
  InboundResponse,
  IntegrationType,
  StartOutcome,
  StartRun,
} from "../integrations/types";
import { errorFields, log } from "../log";
import type { IntegrationRecord, IntegrationStore } from "../store/integrations";
import type { ThreadStore } from "../store/records";
import { acceptRun, type IntakeDeps } from "./intake";

export interface InboundDeps extends IntakeDeps {
  config: Config & IntakeDeps["config"];
  integrations: Pick<IntegrationStore, "find">;
  threads: IntakeDeps["threads"] & Pick<ThreadStore, "conversationThread">;
}

export async function receiveInbound(
  deps: InboundDeps,
  id: string,
  req: InboundRequest,
  background: (task: Promise<unknown>) => void,
): Promise<InboundResponse> {
  const found = await deps.integrations.find(id);
  if (!found) throw notFound("integration", id, "integration_id");
  const { tenant, integration } = found;
  const adapter = adapterFor(integration.type as IntegrationType);
  return adapter.handleInbound(req, integration, {
    config: deps.config,
    now: deps.now,
    startRun: (run) => startRun(deps, tenant, integration, run),
    hasConversation: async (key) => (await deps.threads.conversationThread(tenant, key)) !== null,
    background: (task) =>
      background(
        task.catch((err: unknown) =>
          log("warn", "an integration's background work failed", { integration_id: id, ...errorFields(err) }),
        ),
      ),
  });
}

async function startRun(
  deps: InboundDeps,
  tenant: string,
  integration: IntegrationRecord,
  r: StartRun,
): Promise<StartOutcome> {
  const { config } = deps;
  try {
    const { run, replayed } = await acceptRun(deps, {
      tenant,
      assistantId: integration.assistant_id,
      thread: { kind: "conversation", key: r.conversation },
      messages: [{ role: "user", content: r.text }],
      overrides: { metadata: { ...r.metadata, integration_id: integration.id } },
      callback: {
        kind: "integration",
        integration_id: integration.id,
        type: integration.type,
        reply: r.reply,
      },
      timeoutS: config.runTimeoutS,
      // The assistant's `events` (a Slack placeholder edited as text arrives), at the deployment's pace.
      progress: { intervalMs: config.messageDeltaIntervalMs },
      limits: { maxToolRounds: config.maxToolRounds, requiresActionTimeoutS: config.requiresActionTimeoutS },
      idempotency: { key: `integ.${integration.id}.${r.dedupKey}`, bodyHash: "integration" },
      mode: "queue",
    });
    return { ok: true, runId: run.id, replayed };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    // The same event, its run still being written: it is started (a retry must not start another).
    if (err.code === "request_in_progress") return { ok: true, runId: "", replayed: true };
    log("warn", "an integration's run was refused", { integration_id: integration.id, code: err.code });
    return { ok: false, code: err.code ?? "refused", message: err.message };
  }
}
