/** The I/O behind each engine action. Each returns the run after feeding the result to the engine. */
import { type Config, dieOnceAt } from "../config";
import { DELIVERY_TIMEOUT_MS } from "../engine/constants";
import { createKey } from "../engine/call";
import { LOST_LOOKUP_ITEMS, lostResponseFromItems, type SeenItem } from "../engine/lost-create";
import type { Action } from "../engine/next";
import { outputMessage, toInputMessage } from "../engine/messages";
import { buildEvent } from "../engine/present";
import { deliveryRetryMs, transition } from "../engine/run";
import { checkCallerOutputs, type ToolResult } from "../engine/tools";
import { isIntegrationCallback, type PendingCall, type RunRecord, type ToolEndpoint } from "../engine/types";
import { errorFields, log } from "../log";
import { writeOutcome } from "./outcome";
import { z } from "zod";
import type { ObservedResponse } from "../engine/upstream-types";
import { withFileLinks } from "../delivery/file-links";
import { deliverToIntegration, type IntegrationDeliveryDeps } from "../delivery/integration";
import { sendSigned } from "../delivery/send";
import type { StepQueue } from "../queue/steps";
import type { StoredThread, ThreadStore } from "../store/records";
import type { ResponseIndex } from "../store/responses";
import type { RunStore } from "../store/runs";
import type { WebhookSecret } from "../store/tenants";
import type { UsageStore } from "../store/usage";
import type { MessageStore } from "../store/messages";
import { monthOf } from "../engine/usage";
import { type Upstream, UpstreamError } from "../upstream/openai";
import { threadHasResources } from "../engine/files";
import { driveFor } from "./drive";
import { needsStream } from "../engine/progress";
import { collectFiles, type FileStepDeps, prepareFiles } from "./files";
import type { ActionContext, ActionResult } from "./drive/types";
import { observed } from "./drive/shared";

export interface Deps extends Omit<FileStepDeps, "config" | "threads">, Partial<IntegrationDeliveryDeps> {
  config: Config;
  runs: Pick<RunStore, "claim" | "save" | "unlock" | "releaseThread" | "countLateUsage"> &
    Partial<Pick<RunStore, "saveWith" | "outbox" | "releaseSave" | "get">>;
  threads: Pick<ThreadStore, "get" | "setConversationId" | "setFilesStore">;
  queue: Pick<StepQueue, "publish" | "publishCall"> & Partial<Pick<StepQueue, "publishDeliver">>;
  upstream: Upstream;
  /** The thread's held messages, taken at a run's start and given back at its end (absent in narrow test fakes). */
  messages?: Pick<MessageStore, "takeHeld" | "giveBack" | "closeMerge">;
  /** The tenant's monthly token quota, checked when a run starts (absent in narrow test fakes). */
  usage?: Pick<UsageStore, "tokenQuotaReached">;
  /** Remembers which run a background response belongs to (absent in narrow test fakes). */
  responses?: Pick<ResponseIndex, "remember">;
  /** The secrets a tenant's deliveries and tool calls are signed with now (several in a rotation). */
  webhookSecrets: (tenant: string) => Promise<string[]>;
  /** The same from the tenant's stored secrets as a claim read them (RunStore.claim `secrets`). */
  signingSecretsFrom?: (tenant: string, stored: WebhookSecret[] | null, now: number) => string[];
  /** Where this deployment is reached, for the download links callbacks carry. */
  baseUrl: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

type Performable = Exclude<Action, { type: "wait" } | { type: "done" }>;

/** The actions a start's reading ahead is for (ActionContext `start`). */
const READ_AHEAD_USERS = new Set<string>(["take_held", "check_quota", "create_conversation"]);

export async function performAction(
  deps: Deps,
  run: RunRecord,
  action: Performable,
  ctx: ActionContext,
): Promise<ActionResult> {
  const keepGoing = (r: RunRecord) => ({ run: r, yieldAfterMs: null });
  const ahead = ctx.start;
  // What a start read ahead is for the actions right after it only (StartAhead).
  if (ahead && !READ_AHEAD_USERS.has(action.type)) {
    delete ahead.tokenQuota;
    delete ahead.thread;
  }
  switch (action.type) {
    case "close_merge": {
      const fanout = deps.messages ? await deps.messages.closeMerge(run.tenant, run.id) : [];
      return keepGoing(transition(run, { type: "merge_closed", fanout }, deps.now()));
    }
    case "take_held": {
      const debounce = (run.debounce_ms ?? 0) > 0;
      const now = deps.now();
      // Read ahead for the quota check only where it would read (a store with the usage counters).
      const reading =
        ahead && deps.usage
          ? {
              owner: ahead.owner,
              leaseUntil: now + ahead.leaseMs,
              month: monthOf(now),
              defaultMonthlyTokens: deps.config.tenantDefaults.monthlyTokens,
            }
          : undefined;
      const taken = deps.messages
        ? await deps.messages.takeHeld(run.tenant, run.thread_id, run.id, {
            now,
            debounce,
            ...(reading ? { reading } : {}),
          })
        : { kind: "taken" as const, held: [], merged: [], fanout: [] };
      if (ahead && taken.kind === "taken" && taken.read) {
        if (taken.read.leaseUntil !== null) ahead.leaseExtended(taken.read.leaseUntil);
        ahead.tokenQuota = taken.read.tokenQuota;
        ahead.thread = taken.read.thread;
      }
      if (taken.kind === "wait")
        return keepGoing(
          transition(run, { type: "not_quiet", until_ms: deps.now() + taken.waitMs }, deps.now()),
        );
      const event = {
        type: "held_taken" as const,
        messages: taken.held.map(toInputMessage),
        merged: taken.merged.map(toInputMessage),
        fanout: taken.fanout,
      };
      return keepGoing(transition(run, event, deps.now()));
    }
    case "return_messages":
      if (deps.messages) await deps.messages.giveBack(run.tenant, run.thread_id, run.id);
      return keepGoing(transition(run, { type: "messages_returned" }, deps.now()));
    case "check_quota": {
      const early = ahead?.tokenQuota;
      if (ahead) delete ahead.tokenQuota;
      const limit =
        early !== undefined
          ? early
          : deps.usage
            ? await deps.usage.tokenQuotaReached(
                run.tenant,
                monthOf(deps.now()),
                deps.config.tenantDefaults.monthlyTokens,
              )
            : null;
      return keepGoing(transition(run, { type: "quota_checked", exceeded_limit: limit }, deps.now()));
    }
    case "create_conversation": {
      const early = ahead?.thread;
      if (ahead) delete ahead.thread;
      return keepGoing(await ensureConversation(deps, run, early));
    }
    case "create_response":
      return driveOf(deps, run).start(deps, run, action.request, ctx);
    case "observe":
      return driveOf(deps, run).follow(deps, run, action.response_id, action.cursor, ctx);
    case "cancel_response":
      return keepGoing(await cancelResponse(deps, run, action.response_id));
    case "release_thread": {
      // The release script lets go of the thread and slot; then the next run's start is published
      // before it is handed the slot. A refused or failed publish there leaves that run waiting for
      // a slot, which the reconciler's next call hands on (commands/reconcile.ts): this run's end goes
      // on (its callback). Failing the step instead counted on QStash delivering it again, which a
      // call's callback does only 3 times, with nothing to rescue it, and the run was out of the
      // slots the reconciler looks at: its callback was never sent.
      let handOffFailed = false;
      const released = transition(run, { type: "thread_released" }, deps.now());
      // With the runner's context the release also saves the run (one request; the delivery that
      // follows needs it saved anyway: what an event announces must be readable).
      const together = ctx.saveReleasing && deps.runs.releaseSave ? ctx.saveReleasing : null;
      try {
        const startNext = async (next: string) => {
          try {
            await deps.queue.publish(
              { tenant: run.tenant, run_id: next, seq: 0 },
              { delayMs: 0, reason: "start" },
            );
          } catch (err) {
            handOffFailed = true;
            log("warn", "could not publish the next run's start; the reconciler hands it the slot", {
              run_id: run.id,
              next_run_id: next,
              ...errorFields(err),
            });
            throw err;
          }
        };
        if (together) await together(released, { answer: outputMessage(run), startNext });
        else await deps.runs.releaseThread(run, outputMessage(run), startNext);
      } catch (err) {
        if (!handOffFailed) throw err;
      }
      return keepGoing(released);
    }
    case "deliver":
      // What an event announces must already be readable: a receiver may GET the run at once.
      await (ctx.saveIfChanged ?? ctx.save)(run);
      dieOnceAt(deps.config, "before_callback_sent", run.id);
      return keepGoing(await deliver(deps, run, ctx));
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
    case "find_call_answer":
      return keepGoing(await findCallAnswer(deps, run, action));
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

/**
 * A call whose answer is overdue (its callback may have been dead-lettered): a response that ended
 * appended the round's input and its output to the conversation, as for a lost create
 * (engine/lost-create.ts); found, it is the round's response (adopted with an estimate of its usage,
 * which only the callback carried). Not found: looked (the model may still be working), or lost when the call
 * can no longer answer. A failed look changes nothing (the call stays: a new attempt must not follow).
 */
async function findCallAnswer(
  deps: Deps,
  run: RunRecord,
  action: Extract<Action, { type: "find_call_answer" }>,
): Promise<RunRecord> {
  const now = deps.now();
  let items: SeenItem[];
  try {
    items = await deps.upstream.recentItems(action.conversation_id, LOST_LOOKUP_ITEMS);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    log("warn", "could not read the conversation for a call's answer", { run_id: run.id, code: err.code });
    return transition(run, { type: "call_looked" }, now);
  }
  const found = lostResponseFromItems(
    items,
    action.request.input,
    createKey(run),
    action.request.instructions,
  );
  if (found) {
    log("warn", "adopted a call's response from the conversation (its callback did not come)", {
      run_id: run.id,
    });
    return transition(run, { type: "response_created", response: found }, now);
  }
  if (!action.given_up) return transition(run, { type: "call_looked" }, now);
  const message =
    "QStash's call never answered (its callback was lost); the response may exist, so it is not created again.";
  return transition(run, { type: "call_lost", error: { code: "upstream_outcome_unknown", message } }, now);
}

/**
 * The run's drive strategy: DRIVE_STRATEGY, except that a run that asked for `message.delta` is
 * streamed (only a stream sees the text as it is written; docs/performance.md says what it costs).
 */
const driveOf = (deps: Pick<Deps, "config">, run: RunRecord) =>
  driveFor(needsStream(run) ? "stream" : deps.config.drive.strategy);

/** `early`: the thread as the run's start read it (undefined: read it now). */
async function ensureConversation(
  deps: Deps,
  run: RunRecord,
  early?: StoredThread | null,
): Promise<RunRecord> {
  const thread = early !== undefined ? early : await deps.threads.get(run.tenant, run.thread_id);
  let id = thread?.conversation_id ?? null;
  let made = false;
  if (!id) {
    // The thread learns it with the run's next save (the create's intent: runner.ts
    // conversationUnsaved), under the step's lease, where no other run of the thread is running.
    id = await deps.upstream.createConversation();
    made = true;
  }
  const ready = transition(run, { type: "conversation_ready", conversation_id: id, made }, deps.now());
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

async function deliver(deps: Deps, run: RunRecord, ctx: ActionContext): Promise<RunRecord> {
  const callback = run.callback;
  if (!callback && !run.fanout?.targets.length) return run;
  // A run with progress events sends its own event only when every earlier one is done (in order).
  const turn = await outboxTurn(deps, run);
  if (turn && !turn.ready)
    return transition(
      run,
      { type: "delivery_deferred", until_ms: deps.now() + outboxPollMs(run, deps.now()) },
      deps.now(),
    );
  const secrets = ctx.secrets ? await ctx.secrets() : await deps.webhookSecrets(run.tenant);
  // Generated files travel with signed download links (the newest secret signs them).
  const built = await withFileLinks(buildEvent(run), run, {
    baseUrl: deps.baseUrl,
    secret: secrets.at(-1),
    ttlS: deps.config.files.linkTtlS,
    nowMs: deps.now(),
  });
  const event = turn ? { sequence_number: turn.seq, ...built } : built;
  const send = (target: { url: string; headers: Record<string, string> }, ev: typeof event) =>
    sendSigned({
      url: target.url,
      body: JSON.stringify(ev),
      webhookId: ev.id,
      secrets,
      headers: target.headers,
      timeoutMs: DELIVERY_TIMEOUT_MS,
      policy: { devMode: deps.config.devMode },
      now: deps.now,
    });
  // `on_busy: merge`: the callers whose messages merged into this run get the event too, each
  // under its own id, each once (fanoutTargets).
  const targets = fanoutTargets(run, event.id);
  const [result, ...extra] = await Promise.all([
    callback && targets.primary
      ? // An integration's run: its adapter posts the answer to the platform (same retries and state).
        isIntegrationCallback(callback)
        ? deliverToIntegration(deps, event, run, callback)
        : send(callback, event)
      : null,
    ...targets.extra.map((t) => send(t, { ...event, id: t.event_id })),
  ]);
  let fanned = run;
  if (run.fanout) {
    const sent = [
      ...(result?.ok ? [event.id] : []),
      ...targets.extra.filter((_, i) => extra[i]?.ok).map((t) => t.event_id),
    ];
    fanned = transition(run, { type: "fanout_sent", event_ids: sent }, deps.now());
  }
  const failed = [result, ...extra].find((r) => r && !r.ok) ?? null;
  const outcome = failed ?? result ?? extra[0] ?? null;
  const ok = failed === null;
  const inCycle = run.delivery.attempts.length - run.delivery.cycle_start + 1;
  const retry_in_ms = ok
    ? null
    : deliveryRetryMs(inCycle, deps.config.deliveryRetries, deps.config.deliveryBackoffS);
  const after = transition(
    fanned,
    {
      type: "delivery_attempted",
      ok,
      status: outcome?.status ?? null,
      error: outcome?.error ?? null,
      duration_ms: outcome?.duration_ms ?? 0,
      retry_in_ms,
    },
    deps.now(),
  );
  // Delivered or failed for good: the events after it may go. The receiver may have the event
  // already, and nothing here may fail the step (its retry would send it again): the cursor's move
  // is tried again (steps/outcome.ts), and a refused kick is left to the outbox's grace (the next
  // append after it publishes a deliver step).
  const outbox = deps.runs.outbox;
  if (turn && after.delivery.state !== "pending" && outbox) {
    const move = () => outbox.advance(run.tenant, run.id, turn.seq, deps.now());
    if (await writeOutcome(deps, { run_id: run.id, event_id: event.id }, move))
      await kickDeliver(deps, run, deps.now()).catch((err: unknown) =>
        log("warn", "could not publish a deliver step; the outbox's grace brings one", {
          run_id: run.id,
          ...errorFields(err),
        }),
      );
  }
  return result?.ok && event.type === "run.requires_action"
    ? applyInlineOutputs(deps, after, result.reply)
    : after;
}

/**
 * Who still gets event `eventId`: the run's own callback (`primary`) and the merged callers'
 * (`extra`, each event under `${eventId}_m${i + 1}`), minus those it was delivered to already.
 * A run without merged callers always sends to its callback (the delivery state says when to stop).
 */
export function fanoutTargets(run: RunRecord, eventId: string) {
  const fanout = run.fanout;
  if (!fanout) return { primary: true, extra: [] };
  const sent = new Set(fanout.sent);
  return {
    primary: !sent.has(eventId),
    extra: fanout.targets
      .map((t, i) => ({ ...t, event_id: `${eventId}_m${i + 1}` }))
      .filter((t) => !sent.has(t.event_id)),
  };
}

/** Publish a deliver step for the run's outbox (its events wait for one: steps/deliver.ts). */
export async function kickDeliver(deps: Pick<Deps, "queue">, run: RunRecord, now: number) {
  await deps.queue.publishDeliver?.(
    { tenant: run.tenant, run_id: run.id },
    { delayMs: 0, reason: `k${now}` },
  );
}

/**
 * How soon a run's own event looks again whether the progress events before it are done: 0.5 s,
 * growing with the wait (a quarter of it) to 5 s, so a slow receiver costs a step a few Redis reads,
 * and a wait past 3 s ends the step (the runner schedules the next one) instead of holding it.
 */
export function outboxPollMs(run: RunRecord, now: number): number {
  const since = run.timeline.at(-1)?.at_ms ?? now;
  return Math.min(5_000, Math.max(500, Math.round((now - since) / 4)));
}

/** The run's own event's place in its outbox (null: the run has no progress events). */
async function outboxTurn(deps: Deps, run: RunRecord) {
  const eventId = run.delivery.event_id;
  if (!run.progress || !deps.runs.outbox || !eventId) return null;
  const turn = await deps.runs.outbox.turn(run.tenant, run.id, eventId, deps.now());
  if (turn.kick) await kickDeliver(deps, run, deps.now());
  return turn;
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
