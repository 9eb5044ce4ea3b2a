/**
 * The step queue: publishes `drive` steps to QStash (delayed when asked) and verifies the
 * signature of step deliveries. The step message is `{ tenant, run_id, seq }`: `seq` is the run's
 * fencing token at publish time, so stale and duplicate deliveries are recognised.
 *
 * A step answers non-2xx only when infrastructure failed (Redis, QStash), so QStash retries it on a
 * short schedule; when those retries run out, QStash's failure callback reaches the rescue route,
 * which needs nothing but QStash to publish the step again later. An outage delays a run; it never
 * drops one.
 */
import {
  Client,
  QstashDailyRatelimitError,
  QstashError,
  QstashRatelimitError,
  Receiver,
} from "@upstash/qstash";
import { queueRefused } from "../errors";

export interface StepMessage {
  tenant: string;
  run_id: string;
  seq: number;
  /** How many times this step was republished after QStash gave up on it. */
  rescue?: number;
  /**
   * Never sent: set in-process when what drives the run is not a drive step that QStash retries and
   * the rescue route republishes (a call's callback, whose retries run out with nothing after them).
   * Such a step saves its run's end before letting go of the run's slot (runner.ts), so that the
   * callback's retry can hand an unfinished end to a drive step (called.ts).
   */
  unrescued?: boolean;
}

export interface StepQueue {
  /** `reason` makes the deduplication id: retries of the same publish collapse, distinct triggers do not. */
  publish(msg: StepMessage, opts: { delayMs: number; reason: string }): Promise<void>;
  /**
   * Publish an immediate observe step for a response OpenAI says has ended (its webhook). One per
   * response: repeated webhooks collapse. Not rescued when dead-lettered: the safety-net polls are.
   */
  notifyEnded(responseId: string): Promise<void>;
  verify(signature: string | null, body: string, url: string): Promise<boolean>;
  /**
   * Have QStash make `call` (a foreground model request), once — no retries: a create must not be
   * sent twice — and POST its answer to the `called` route with `ref` in the query (the callback and,
   * should the call fail, the failure callback; both retried). `timeoutS` ends a call QStash holds.
   */
  publishCall(call: CallMessage): Promise<void>;
  /**
   * Deliver a delayed run's start to the deferred route at `notBeforeS` (unix seconds; QStash's
   * `Upstash-Not-Before`: nothing is held meanwhile). One per run: repeats collapse.
   */
  publishDeferred(msg: DeferredMessage, notBeforeS: number): Promise<void>;
  /**
   * Create or replace the QStash schedule `qstashId` that POSTs `msg` to the scheduled route at
   * every time of `cron` (QStash's form: `CRON_TZ=Zone m h dom mon dow`); paused when `paused`.
   */
  /**
   * Publish a deliver step for a run's outbox (steps/deliver.ts) after `delayMs`. `reason` makes
   * the deduplication id (repeats of one publish collapse).
   */
  publishDeliver(msg: DeliverMessage, opts: { delayMs: number; reason: string }): Promise<void>;
  putSchedule(qstashId: string, cron: string, msg: ScheduledMessage, paused: boolean): Promise<void>;
  deleteSchedule(qstashId: string): Promise<void>;
}

/** A schedule's firing: which schedule (the firing's identity is QStash's message id). */
export interface ScheduledMessage {
  tenant: string;
  schedule_id: string;
}

/** A delayed run due to start (`run_at`/`delay_s`). */
export interface DeferredMessage {
  tenant: string;
  run_id: string;
  /** How many times this start was republished after QStash gave up on it. */
  rescue?: number;
}

/** A run's outbox to drain (progress events: steps/deliver.ts). */
export interface DeliverMessage {
  tenant: string;
  run_id: string;
}

export interface CallMessage {
  request: { url: string; headers: Record<string, string>; body: string };
  /** Identifies the run and attempt in the callback's URL (signed with it). */
  ref: { tenant: string; run_id: string; key: string };
  timeoutS: number;
}

export const STEP_PATH = "/internal/steps/drive";
export const RESCUE_PATH = "/internal/steps/rescue";
export const OBSERVE_PATH = "/internal/steps/observe";
/** The reconciler's route, called by a QStash schedule (docs/deploy.md). */
export const RECONCILE_PATH = "/internal/steps/reconcile";
/** QStash's callback with the answer of a call it made for a run (the `call` strategy). */
export const CALLED_PATH = "/internal/steps/called";
/** QStash's delivery of a delayed run at its time. */
export const DEFERRED_PATH = "/internal/steps/deferred";
/** A run's outbox drained in order (progress events). */
export const DELIVER_PATH = "/internal/steps/deliver";
/** QStash's delivery of a schedule's firing. */
export const SCHEDULED_PATH = "/internal/steps/scheduled";

/** The callback URL's query for a call: the run and the attempt it answers. */
export const calledQuery = (ref: CallMessage["ref"]) =>
  new URLSearchParams({ tenant: ref.tenant, run: ref.run_id, key: ref.key }).toString();
/** QStash retries of a step that answered non-2xx (the free plan's maximum). */
const STEP_RETRIES = 3;
/** Delay before QStash's n-th retry (`retried` = 0 before the first): 1 s, 4 s, 16 s. */
const STEP_RETRY_DELAY_EXPR = "1000 * pow(4, retried)";
/** Delay before the n-th rescue of a dead-lettered step: 1 min doubling to 1 h. */
export const rescueDelayMs = (rescue: number) => Math.min(3_600_000, 60_000 * 2 ** Math.max(0, rescue - 1));
/** Rescues before a step is given up (with the 1 h cap: about two days of outage). */
export const MAX_RESCUES = 54;

/**
 * QStash's 429s (its daily message quota, its rate limit) become `queueRefused` errors: 503 with
 * `Retry-After` until the reset QStash announces (unix seconds), at least 1 s.
 */
export async function refusals<T>(publish: () => Promise<T>, now = Date.now()): Promise<T> {
  try {
    return await publish();
  } catch (err) {
    const untilReset = (reset: string | null | undefined, fallbackS: number) => {
      const at = Number(reset);
      return Number.isFinite(at) && at > 0 ? at - now / 1000 : fallbackS;
    };
    if (err instanceof QstashDailyRatelimitError)
      throw queueRefused("daily_quota", untilReset(err.reset, 3600));
    if (err instanceof QstashRatelimitError) throw queueRefused("rate_limit", untilReset(err.reset, 1));
    if (err instanceof QstashError && err.status === 429) throw queueRefused("rate_limit", 1);
    throw err;
  }
}

export function createStepQueue(cfg: {
  url: string;
  token: string;
  currentSigningKey: string;
  nextSigningKey: string;
  baseUrl: string;
}): StepQueue {
  // devMode: false, always: otherwise QSTASH_DEV in `process.env` (which nodejs_compat fills with
  // the Worker's variables) makes the Receiver accept the public dev signing keys instead of ours,
  // and the Client try to download and start a dev server. The local stack passes its keys explicitly.
  const client = new Client({ baseUrl: cfg.url, token: cfg.token, retry: { retries: 2 }, devMode: false });
  const receiver = new Receiver({
    currentSigningKey: cfg.currentSigningKey,
    nextSigningKey: cfg.nextSigningKey,
    devMode: false,
  });
  const destination = `${cfg.baseUrl}${STEP_PATH}`;
  return {
    async publish(msg, { delayMs, reason }) {
      const delay = Math.ceil(delayMs / 1000);
      await refusals(() =>
        client.publishJSON({
          url: destination,
          body: msg,
          retries: STEP_RETRIES,
          retryDelay: STEP_RETRY_DELAY_EXPR,
          failureCallback: `${cfg.baseUrl}${RESCUE_PATH}`,
          deduplicationId: `${msg.tenant}.${msg.run_id}.${msg.seq}.${reason}`,
          ...(delay > 0 ? { delay } : {}),
        }),
      );
    },
    async notifyEnded(responseId) {
      await refusals(() =>
        client.publishJSON({
          url: `${cfg.baseUrl}${OBSERVE_PATH}`,
          body: { response_id: responseId },
          retries: STEP_RETRIES,
          retryDelay: STEP_RETRY_DELAY_EXPR,
          deduplicationId: `ended.${responseId}`,
        }),
      );
    },
    async publishCall({ request, ref, timeoutS }) {
      const callback = `${cfg.baseUrl}${CALLED_PATH}?${calledQuery(ref)}`;
      const retried = {
        "Upstash-Callback-Retries": String(STEP_RETRIES),
        "Upstash-Callback-Retry-Delay": STEP_RETRY_DELAY_EXPR,
        "Upstash-Failure-Callback-Retries": String(STEP_RETRIES),
        "Upstash-Failure-Callback-Retry-Delay": STEP_RETRY_DELAY_EXPR,
      };
      await refusals(() =>
        client.publish({
          url: request.url,
          method: "POST",
          body: request.body,
          // The SDK sends Authorization as Upstash-Forward-Authorization; QStash keeps it out of its logs.
          headers: { ...request.headers, ...retried },
          redact: { header: ["Authorization"] },
          retries: 0,
          timeout: Math.max(1, Math.ceil(timeoutS)),
          callback,
          failureCallback: callback,
          deduplicationId: `call.${ref.tenant}.${ref.run_id}.${ref.key}`,
        }),
      );
    },
    async publishDeferred(msg, notBeforeS) {
      await refusals(() =>
        client.publishJSON({
          url: `${cfg.baseUrl}${DEFERRED_PATH}`,
          body: msg,
          retries: STEP_RETRIES,
          retryDelay: STEP_RETRY_DELAY_EXPR,
          notBefore: Math.ceil(notBeforeS),
          // Dead-lettered (an outage outlasted the retries): the rescue route publishes it again.
          failureCallback: `${cfg.baseUrl}${RESCUE_PATH}`,
          deduplicationId: `deferred.${msg.tenant}.${msg.run_id}.${msg.rescue ?? 0}`,
        }),
      );
    },
    async publishDeliver(msg, { delayMs, reason }) {
      const delay = Math.ceil(delayMs / 1000);
      await refusals(() =>
        client.publishJSON({
          url: `${cfg.baseUrl}${DELIVER_PATH}`,
          body: msg,
          retries: STEP_RETRIES,
          retryDelay: STEP_RETRY_DELAY_EXPR,
          deduplicationId: `deliver.${msg.tenant}.${msg.run_id}.${reason}`,
          ...(delay > 0 ? { delay } : {}),
        }),
      );
    },
    async putSchedule(qstashId, cron, msg, paused) {
      await refusals(() =>
        client.schedules.create({
          scheduleId: qstashId,
          destination: `${cfg.baseUrl}${SCHEDULED_PATH}`,
          cron,
          body: JSON.stringify(msg),
          headers: { "content-type": "application/json" },
          retries: STEP_RETRIES,
          retryDelay: STEP_RETRY_DELAY_EXPR,
        }),
      );
      if (paused) await refusals(() => client.schedules.pause({ schedule: qstashId }));
    },
    async deleteSchedule(qstashId) {
      try {
        await client.schedules.delete(qstashId);
      } catch (err) {
        // Gone already: nothing to delete.
        if (!(err instanceof QstashError && err.status === 404)) throw err;
      }
    },
    async verify(signature, body, url) {
      if (!signature) return false;
      try {
        return await receiver.verify({ signature, body, url });
      } catch {
        return false;
      }
    },
  };
}
