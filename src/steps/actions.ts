/** The I/O behind each engine action. Each returns the run after feeding the result to the engine. */
import type { Config } from "../config";
import { DELIVERY_TIMEOUT_MS } from "../engine/constants";
import type { Action } from "../engine/next";
import { outputMessage, toInputMessage } from "../engine/messages";
import { buildEvent } from "../engine/present";
import { deliveryRetryMs, transition } from "../engine/run";
import { checkCallerOutputs, type ToolResult } from "../engine/tools";
import { isIntegrationCallback, type PendingCall, type RunRecord, type ToolEndpoint } from "../engine/types";
import { log } from "../log";
import { z } from "zod";
import type { ObservedResponse } from "../engine/upstream-types";
import { withFileLinks } from "../delivery/file-links";
import { deliverToIntegration, type IntegrationDeliveryDeps } from "../delivery/integration";
import { sendSigned } from "../delivery/send";
import type { StepQueue } from "../queue/steps";
import type { ThreadStore } from "../store/records";
import type { ResponseIndex } from "../store/responses";
import type { RunStore } from "../store/runs";
import type { UsageStore } from "../store/usage";
import type { MessageStore } from "../store/messages";
import { monthOf } from "../engine/usage";
import { type Upstream, UpstreamError } from "../upstream/openai";
import { threadHasResources } from "../engine/files";
import { driveFor } from "./drive";
import { collectFiles, type FileStepDeps, prepareFiles } from "./files";
import type { ActionContext, ActionResult } from "./drive/types";
import { observed } from "./drive/shared";

export interface Deps extends Omit<FileStepDeps, "config" | "threads">, Partial<IntegrationDeliveryDeps> {
  config: Config;
  runs: Pick<RunStore, "claim" | "save" | "unlock" | "releaseThread">;
  threads: Pick<ThreadStore, "get" | "setConversationId" | "setFilesStore">;
  queue: Pick<StepQueue, "publish" | "publishCall">;
  upstream: Upstream;
  /** The thread's held messages, taken at a run's start and given back at its end (absent in narrow test fakes). */
  messages?: Pick<MessageStore, "takeHeld" | "giveBack">;
  /** The tenant's monthly token quota, checked when a run starts (absent in narrow test fakes). */
  usage?: Pick<UsageStore, "tokenQuotaReached">;
  /** Remembers which run a background response belongs to (absent in narrow test fakes). */
  responses?: Pick<ResponseIndex, "remember">;
  /** The secrets a tenant's deliveries and tool calls are signed with now (several in a rotation). */
  webhookSecrets: (tenant: string) => Promise<string[]>;
  /** Where this deployment is reached, for the download links callbacks carry. */
  baseUrl: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

type Performable = Exclude<Action, { type: "wait" } | { type: "done" }>;

export async function performAction(
  deps: Deps,
  run: RunRecord,
  action: Performable,
  ctx: ActionContext,
): Promise<ActionResult> {
  const keepGoing = (r: RunRecord) => ({ run: r, yieldAfterMs: null });
  switch (action.type) {
    case "take_held": {
      const held = deps.messages ? await deps.messages.takeHeld(run.tenant, run.thread_id, run.id) : [];
      const messages = held.map(toInputMessage);
      return keepGoing(transition(run, { type: "held_taken", messages }, deps.now()));
    }
    case "return_messages":
      if (deps.messages) await deps.messages.giveBack(run.tenant, run.thread_id, run.id);
      return keepGoing(transition(run, { type: "messages_returned" }, deps.now()));
    case "check_quota": {
      const limit = deps.usage
        ? await deps.usage.tokenQuotaReached(
            run.tenant,
            monthOf(deps.now()),
            deps.config.tenantDefaults.monthlyTokens,
          )
        : null;
      return keepGoing(transition(run, { type: "quota_checked", exceeded_limit: limit }, deps.now()));
    }
    case "create_conversation":
      return keepGoing(await ensureConversation(deps, run));
    case "create_response":
      return driveFor(deps.config.drive.strategy).start(deps, run, action.request, ctx);
    case "observe":
      return driveFor(deps.config.drive.strategy).follow(deps, run, action.response_id, action.cursor, ctx);
    case "cancel_response":
      return keepGoing(await cancelResponse(deps, run, action.response_id));
    case "release_thread":
      await deps.runs.releaseThread(run, outputMessage(run), (next) =>
        deps.queue.publish({ tenant: run.tenant, run_id: next, seq: 0 }, { delayMs: 0, reason: "start" }),
      );
      return keepGoing(transition(run, { type: "thread_released" }, deps.now()));
    case "deliver":
      // What an event announces must already be readable: a receiver may GET the run at once.
      await ctx.save(run);
      return keepGoing(await deliver(deps, run));
    case "call_tools":
      return keepGoing(
        transition(
          run,
          { type: "tool_results", results: await callTools(deps, run, action.calls) },
          deps.now(),
        ),
      );
    case "prepare_files":
      return keepGoing(await prepareFiles(deps, run));
    case "collect_files":
      return keepGoing(await collectFiles(deps, run, action.containers));
    case "close_calls": {
      const items = action.call_ids.map((call_id, i) => ({
        type: "function_call_output" as const,
        call_id,
        output:
          action.outputs?.[i] ?? JSON.stringify({ error: `not executed: the run ended (${run.status})` }),
      }));
      await deps.upstream.addItems(action.conversation_id, items);
      return keepGoing(transition(run, { type: "calls_closed" }, deps.now()));
    }
  }
}

async function ensureConversation(deps: Deps, run: RunRecord): Promise<RunRecord> {
  const thread = await deps.threads.get(run.tenant, run.thread_id);
  let id = thread?.conversation_id ?? null;
  if (!id)
    id = await deps.threads.setConversationId(
      run.tenant,
      run.thread_id,
      await deps.upstream.createConversation(),
    );
  const ready = transition(run, { type: "conversation_ready", conversation_id: id }, deps.now());
  // The thread's tool_resources and its attachment store join the run (engine/files.ts).
  return thread && threadHasResources(thread)
    ? transition(ready, { type: "thread_resources", thread }, deps.now())
    : ready;
}

async function cancelResponse(deps: Deps, run: RunRecord, responseId: string): Promise<RunRecord> {
  let response: ObservedResponse | null = null;
  try {
    response = await deps.upstream.cancelResponse(responseId);
  } catch (err) {
    // A response that cannot be cancelled (gone, already finished) needs no cancel.
    if (!(err instanceof UpstreamError) || err.retryable) throw err;
  }
  const sent = transition(run, { type: "cancel_sent" }, deps.now());
  return response ? observed(deps, sent, response, null) : sent;
}

async function deliver(deps: Deps, run: RunRecord): Promise<RunRecord> {
  const callback = run.callback;
  if (!callback) return run;
  const secrets = await deps.webhookSecrets(run.tenant);
  // Generated files travel with signed download links (the newest secret signs them).
  const event = await withFileLinks(buildEvent(run), run, {
    baseUrl: deps.baseUrl,
    secret: secrets.at(-1),
    ttlS: deps.config.files.linkTtlS,
    nowMs: deps.now(),
  });
  // An integration's run: its adapter posts the answer to the platform (same retries and state).
  const result = isIntegrationCallback(callback)
    ? await deliverToIntegration(deps, event, run, callback)
    : await sendSigned({
        url: callback.url,
        body: JSON.stringify(event),
        webhookId: event.id,
        secrets,
        headers: callback.headers,
        timeoutMs: DELIVERY_TIMEOUT_MS,
        policy: { devMode: deps.config.devMode },
        now: deps.now,
      });
  const inCycle = run.delivery.attempts.length - run.delivery.cycle_start + 1;
  const retry_in_ms = result.ok
    ? null
    : deliveryRetryMs(inCycle, deps.config.deliveryRetries, deps.config.deliveryBackoffS);
  const { ok, status, error, duration_ms } = result;
  const after = transition(
    run,
    { type: "delivery_attempted", ok, status, error, duration_ms, retry_in_ms },
    deps.now(),
  );
  return ok && event.type === "run.requires_action" ? applyInlineOutputs(deps, after, result.reply) : after;
}

/** A receiver may answer `run.requires_action` with `{ tool_outputs: [...] }` in its 2xx reply. */
function applyInlineOutputs(deps: Deps, run: RunRecord, reply: unknown): RunRecord {
  const parsed = InlineOutputs.safeParse(reply);
  if (!parsed.success) return run;
  const problem = checkCallerOutputs(run, parsed.data.tool_outputs);
  if (problem) {
    log("warn", "ignored tool outputs in a callback reply", { run_id: run.id, problem });
    return run;
  }
  return transition(run, { type: "tool_outputs_submitted", outputs: parsed.data.tool_outputs }, deps.now());
}

const InlineOutputs = z.object({
  tool_outputs: z.array(z.object({ tool_call_id: z.string(), output: z.string() })).min(1),
});

/** Call the round's endpoint tools in parallel, each signed, with its own timeout. */
async function callTools(deps: Deps, run: RunRecord, calls: PendingCall[]): Promise<ToolResult[]> {
  return Promise.all(
    calls.map(async (c): Promise<ToolResult> => {
      const endpoint = c.endpoint as ToolEndpoint;
      const body = {
        run_id: run.id,
        thread_id: run.thread_id,
        call_id: c.call_id,
        name: c.name,
        arguments: parseArguments(c.arguments),
      };
      const r = await sendSigned({
        url: endpoint.url,
        body: JSON.stringify(body),
        webhookId: `call_${c.call_id}`,
        secrets: await deps.webhookSecrets(run.tenant),
        headers: endpoint.headers,
        timeoutMs: endpoint.timeout_ms,
        policy: { devMode: deps.config.devMode },
        now: deps.now,
      });
      if (!r.ok) return { call_id: c.call_id, ok: false, error: r.error ?? "tool endpoint failed" };
      return { call_id: c.call_id, ok: true, output: toolOutput(r.reply, r.replyText) };
    }),
  );
}

function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/** `{ "output": … }` from a JSON reply (strings as they are, anything else as JSON), else the reply text. */
function toolOutput(reply: unknown, text: string | null): string {
  if (reply && typeof reply === "object" && "output" in reply) {
    const out = (reply as { output: unknown }).output;
    return typeof out === "string" ? out : JSON.stringify(out);
  }
  return text ?? "";
}
