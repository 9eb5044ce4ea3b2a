/** QStash-invoked step routes. Non-2xx makes QStash retry, so infrastructure errors propagate. */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../deps";
import type { Deps } from "../deps";
import { ApiError } from "../errors";
import { log } from "../log";
import { reconcile } from "../commands/reconcile";
import { startDeferred } from "../commands/deferred";
import { fireSchedule } from "../commands/schedules";
import { driveCalled } from "./called";
import { deliverStep } from "./deliver";
import {
  CALLED_PATH,
  DEFERRED_PATH,
  DELIVER_PATH,
  MAX_RESCUES,
  OBSERVE_PATH,
  RECONCILE_PATH,
  RESCUE_PATH,
  rescueDelayMs,
  SCHEDULED_PATH,
  STEP_PATH,
} from "../queue/steps";
import { type BusyReport, driveEnded, driveStep, logStepError, type StepOutcome } from "./runner";

const StepMessageSchema = z.object({
  tenant: z.string().min(1).max(64),
  run_id: z.string().min(1).max(64),
  seq: z.number().int().min(0),
  rescue: z.number().int().min(0).optional(),
});

const DeferredMessageSchema = z.strictObject({
  tenant: z.string().min(1).max(64),
  run_id: z.string().min(1).max(64),
  rescue: z.number().int().min(0).optional(),
});

const DeliverMessageSchema = z.object({
  tenant: z.string().min(1).max(64),
  run_id: z.string().min(1).max(64),
});

const ScheduledMessageSchema = z.object({
  tenant: z.string().min(1).max(64),
  schedule_id: z.string().min(1).max(64),
});

const EndedMessageSchema = z.object({ response_id: z.string().min(1).max(128) });

/** The run and attempt a call's callback answers (in its signed URL's query). */
const CalledRefSchema = z.object({
  tenant: z.string().min(1).max(64),
  run: z.string().min(1).max(64),
  key: z.string().min(1).max(64),
});

/** The part of QStash's callback payload a call's answer needs. */
const CallbackSchema = z.object({
  status: z.number().int().min(0).max(999),
  header: z.record(z.string(), z.array(z.string())).optional(),
  body: z.string().optional(),
  error: z.string().optional(),
});

/** The part of QStash's failure-callback payload the rescue needs: the dead-lettered step's body. */
const FailureCallbackSchema = z.object({ sourceBody: z.string() });

/**
 * Verify the delivery's `Upstash-Signature` for this route's public URL (`search`: the query the
 * message was published with); the verified body.
 */
async function verifiedBody(req: Request, deps: Deps, path: string, search = "") {
  const origin = new URL(req.url).origin;
  const body = await req.text();
  const url = `${deps.config.publicUrl ?? origin}${path}${search}`;
  if (!(await deps.queue.verify(req.headers.get("upstash-signature"), body, url))) {
    log("warn", "step delivery refused: missing or invalid Upstash-Signature", {
      path,
      message_id: printable(req.headers.get("upstash-message-id")),
    });
    throw new ApiError(401, "invalid_signature", "Missing or invalid Upstash-Signature.");
  }
  return body;
}

export const steps = new Hono<AppEnv>()
  .post(STEP_PATH, async (c) => {
    const { deps } = c.var;
    const body = await verifiedBody(c.req.raw, deps, STEP_PATH);
    const parsed = StepMessageSchema.safeParse(safeJson(body));
    if (!parsed.success) return c.json({ outcome: "ignored", reason: "malformed step message" }, 200);
    try {
      const busy: BusyReport = { retryAfterMs: null };
      const outcome = await driveStep(deps, parsed.data, busy);
      return answerOf(c, outcome, busy);
    } catch (err) {
      logStepError(parsed.data, err);
      throw err;
    }
  })
  .post(OBSERVE_PATH, async (c) => {
    const { deps } = c.var;
    const body = await verifiedBody(c.req.raw, deps, OBSERVE_PATH);
    const parsed = EndedMessageSchema.safeParse(safeJson(body));
    if (!parsed.success) return c.json({ outcome: "ignored", reason: "malformed observe message" }, 200);
    const busy: BusyReport = { retryAfterMs: null };
    const outcome = await driveEnded(deps, parsed.data.response_id, busy);
    return answerOf(c, outcome, busy);
  })
  .post(CALLED_PATH, async (c) => {
    const { deps } = c.var;
    const search = new URL(c.req.url).search;
    const body = await verifiedBody(c.req.raw, deps, CALLED_PATH, search);
    const ref = CalledRefSchema.safeParse(Object.fromEntries(new URLSearchParams(search)));
    const report = CallbackSchema.safeParse(safeJson(body));
    if (!ref.success || !report.success)
      return c.json({ outcome: "ignored", reason: "not a call's callback" }, 200);
    const { status, header = {}, body: answer = "", error } = report.data;
    const busy: BusyReport = { retryAfterMs: null };
    const outcome = await driveCalled(
      deps,
      { tenant: ref.data.tenant, run_id: ref.data.run, key: ref.data.key },
      { status, header, body: fromBase64(answer), error: error ?? null },
      busy,
    );
    return answerOf(c, outcome, busy);
  })
  .post(RECONCILE_PATH, async (c) => {
    const { deps } = c.var;
    await verifiedBody(c.req.raw, deps, RECONCILE_PATH);
    const report = await reconcile(deps);
    return c.json({ outcome: "reconciled", ...report }, 200);
  })
  .post(DEFERRED_PATH, async (c) => {
    const { deps } = c.var;
    const body = await verifiedBody(c.req.raw, deps, DEFERRED_PATH);
    const parsed = DeferredMessageSchema.safeParse(safeJson(body));
    if (!parsed.success) return c.json({ outcome: "ignored", reason: "malformed deferred message" }, 200);
    const outcome = await startDeferred(deps, parsed.data.tenant, parsed.data.run_id);
    return c.json({ outcome }, 200);
  })
  .post(DELIVER_PATH, async (c) => {
    const { deps } = c.var;
    const body = await verifiedBody(c.req.raw, deps, DELIVER_PATH);
    const parsed = DeliverMessageSchema.safeParse(safeJson(body));
    if (!parsed.success) return c.json({ outcome: "ignored", reason: "malformed deliver message" }, 200);
    const outcome = await deliverStep(deps, parsed.data);
    return c.json({ outcome }, 200);
  })
  .post(SCHEDULED_PATH, async (c) => {
    const { deps } = c.var;
    const body = await verifiedBody(c.req.raw, deps, SCHEDULED_PATH);
    const parsed = ScheduledMessageSchema.safeParse(safeJson(body));
    const messageId = printable(c.req.header("upstash-message-id") ?? null);
    if (!parsed.success || !messageId)
      return c.json({ outcome: "ignored", reason: "malformed scheduled message" }, 200);
    const outcome = await fireSchedule(deps, parsed.data.tenant, parsed.data.schedule_id, messageId);
    return c.json({ outcome }, 200);
  })
  .post(RESCUE_PATH, async (c) => {
    const { deps } = c.var;
    const body = await verifiedBody(c.req.raw, deps, RESCUE_PATH);
    const payload = FailureCallbackSchema.safeParse(safeJson(body));
    const source = payload.success ? safeJson(fromBase64(payload.data.sourceBody)) : null;
    const step = StepMessageSchema.safeParse(source);
    const deferred = step.success ? null : DeferredMessageSchema.safeParse(source);
    if (deferred?.success) {
      // A delayed run's start: publish it again, later (its record waits; starting is idempotent).
      const rescue = (deferred.data.rescue ?? 0) + 1;
      if (rescue > MAX_RESCUES) {
        log("error", "delayed run's start given up", { run_id: deferred.data.run_id, rescue });
        return c.json({ outcome: "given_up" }, 200);
      }
      const delayMs = rescueDelayMs(rescue);
      await deps.queue.publishDeferred({ ...deferred.data, rescue }, (deps.now() + delayMs) / 1000);
      return c.json({ outcome: "rescued", rescue, delay_ms: delayMs }, 200);
    }
    if (!step.success) return c.json({ outcome: "ignored", reason: "not a step's failure callback" }, 200);
    const rescue = (step.data.rescue ?? 0) + 1;
    if (rescue > MAX_RESCUES) {
      log("error", "step given up after repeated dead-lettering", { run_id: step.data.run_id, rescue });
      return c.json({ outcome: "given_up" }, 200);
    }
    const delayMs = rescueDelayMs(rescue);
    await deps.queue.publish({ ...step.data, rescue }, { delayMs, reason: `rescue${rescue}` });
    log("warn", "dead-lettered step published again", {
      run_id: step.data.run_id,
      rescue,
      delay_ms: delayMs,
    });
    return c.json({ outcome: "rescued", rescue, delay_ms: delayMs }, 200);
  });

/**
 * A step's answer: 200, or for `busy` 503 with `Retry-After` when the run's lease ends, so QStash
 * delivers the step again then (not after 1/4/16 s into a lease that still holds).
 */
function answerOf(c: Context<AppEnv>, outcome: StepOutcome, busy: BusyReport) {
  if (outcome !== "busy") return c.json({ outcome }, 200);
  const retryAfterS = Math.max(1, Math.ceil((busy.retryAfterMs ?? 0) / 1000));
  c.header("Retry-After", String(retryAfterS));
  return c.json({ outcome, retry_after_s: retryAfterS }, 503);
}

/** A caller-supplied header, safe to log: short, plain characters only. */
const printable = (v: string | null) => (v ? v.replace(/[^\w.:-]/g, "").slice(0, 64) : null);

const NON_ASCII = /[\u0080-\uffff]/;
const utf8 = new TextDecoder();

/**
 * A base64 body as UTF-8 text. Most bodies (OpenAI's JSON) are ASCII, whose decoded bytes are the
 * text already: only others go through bytes and a TextDecoder (building the bytes with a callback
 * per character was the callback step's costliest function of its own: bench:profile).
 */
export function fromBase64(b64: string): string {
  let binary: string;
  try {
    binary = atob(b64);
  } catch {
    return "";
  }
  if (!NON_ASCII.test(binary)) return binary;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return utf8.decode(bytes);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
