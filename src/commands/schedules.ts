/**
 * Schedules (`/v1/schedules`): a cron in an IANA time zone that sends a fixed message (or one with
 * the firing's date) to an assistant, on a conversation key's thread or a fresh thread each time,
 * with a callback. Each is a QStash schedule (QStash keeps the time; nothing here runs between
 * firings) whose firing reaches the scheduled route; the firing is accepted like a message, with
 * QStash's message id as its idempotency key, so a duplicate delivery of one firing starts no
 * second run. `start_at` / `end_at` bound the firings; `enabled: false` pauses the QStash schedule.
 */
import { Cron } from "croner";
import type { Config } from "../config";
import { ApiError, notFound } from "../errors";
import { log } from "../log";
import type { StepQueue } from "../queue/steps";
import { assertAssistantAllowed, type Principal } from "../security/principal";
import { newId } from "../store/ids";
import { type ListParams, pageOf } from "../store/list";
import type { AssistantStore } from "../store/records";
import type { ScheduleRecord, ScheduleStore } from "../store/schedules";
import { callbackFor } from "./callback";
import { createRunRecord } from "../engine/new-run";
import { acceptRun, type IntakeDeps, type IntakeRequest } from "./intake";
import { type RefuseDeps, refusalError, refuseRun } from "./refused";

export interface ScheduleDeps {
  config: Config;
  schedules: ScheduleStore;
  assistants: Pick<AssistantStore, "get">;
  queue: Pick<StepQueue, "putSchedule" | "deleteSchedule">;
  tenants: Parameters<typeof callbackFor>[0]["tenants"];
  now: () => number;
}

/** What a caller sets on a schedule (the record's own fields: id, times, firings, are the store's). */
export type ScheduleInput = Omit<ScheduleRecord, "id" | "object" | "created_at" | "last_fired_at">;

/** The cron and zone checked by the cron parser: a 400 with its reason otherwise. */
export function checkCron(cron: string, timezone: string): void {
  if (cron.trim().split(/\s+/).length !== 5)
    throw new ApiError(
      400,
      "invalid_cron",
      `cron must have 5 fields (minute hour day month weekday): "${cron}".`,
      {
        param: "cron",
      },
    );
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch (err) {
    throw new ApiError(
      400,
      "invalid_timezone",
      `timezone is not an IANA time zone: ${(err as Error).message}`,
      {
        param: "timezone",
      },
    );
  }
  try {
    new Cron(cron, { paused: true, timezone }).nextRun();
  } catch (err) {
    throw new ApiError(400, "invalid_cron", `cron is invalid: ${(err as Error).message}`, { param: "cron" });
  }
}

const qstashId = (tenant: string, id: string) => `th-${tenant}-${id}`;
/** QStash's form of the cron: the zone as a CRON_TZ prefix. */
const qstashCron = (s: Pick<ScheduleRecord, "cron" | "timezone">) => `CRON_TZ=${s.timezone} ${s.cron.trim()}`;

async function checkInput(deps: ScheduleDeps, principal: Principal, input: ScheduleInput) {
  checkCron(input.cron, input.timezone);
  if (input.start_at && input.end_at && Date.parse(input.end_at) <= Date.parse(input.start_at))
    throw new ApiError(400, "invalid_value", "end_at must be after start_at.", { param: "end_at" });
  const assistant = await deps.assistants.get(principal.tenant, input.assistant_id);
  if (!assistant) throw notFound("assistant", input.assistant_id, "assistant_id");
  assertAssistantAllowed(principal, assistant.id, "assistant_id");
  await callbackFor(deps, principal.tenant, input.callback_url, undefined);
}

async function sync(deps: ScheduleDeps, s: ScheduleRecord, tenant: string) {
  await deps.queue.putSchedule(
    qstashId(tenant, s.id),
    qstashCron(s),
    { tenant, schedule_id: s.id },
    !s.enabled,
  );
}

export async function createSchedule(deps: ScheduleDeps, principal: Principal, input: ScheduleInput) {
  await checkInput(deps, principal, input);
  const s: ScheduleRecord = {
    id: newId("sched"),
    object: "schedule",
    created_at: Math.floor(deps.now() / 1000),
    ...input,
    last_fired_at: null,
  };
  const cap = deps.config.maxSchedules;
  if (!(await deps.schedules.create(principal.tenant, s, cap)))
    throw new ApiError(
      429,
      "schedule_limit",
      `A tenant may have at most ${cap} schedules; delete one first.`,
    );
  try {
    await sync(deps, s, principal.tenant);
  } catch (err) {
    await deps.schedules.delete(principal.tenant, s.id);
    throw unavailable(err);
  }
  return s;
}

export async function getSchedule(deps: Pick<ScheduleDeps, "schedules">, principal: Principal, id: string) {
  const s = await deps.schedules.get(principal.tenant, id);
  if (!s) throw notFound("schedule", id, "schedule_id");
  return s;
}

/** The tenant's schedules as a list page, oldest first by default (at most the tenant's cap of them). */
export async function listSchedules(
  deps: Pick<ScheduleDeps, "schedules">,
  principal: Principal,
  params: ListParams,
) {
  return pageOf(await deps.schedules.list(principal.tenant), params);
}

export async function updateSchedule(
  deps: ScheduleDeps,
  principal: Principal,
  id: string,
  patch: Partial<ScheduleInput>,
) {
  const old = await getSchedule(deps, principal, id);
  const next: ScheduleRecord = { ...old, ...patch };
  await checkInput(deps, principal, next);
  await deps.schedules.put(principal.tenant, next);
  try {
    await sync(deps, next, principal.tenant);
  } catch (err) {
    await deps.schedules.put(principal.tenant, old);
    throw unavailable(err);
  }
  return next;
}

export async function deleteSchedule(deps: ScheduleDeps, principal: Principal, id: string) {
  await getSchedule(deps, principal, id);
  await deps.queue.deleteSchedule(qstashId(principal.tenant, id)).catch((err: unknown) => {
    throw unavailable(err);
  });
  await deps.schedules.delete(principal.tenant, id);
  return { id, object: "schedule.deleted", deleted: true };
}

function unavailable(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  log("error", "could not change a QStash schedule", { error: err instanceof Error ? err.name : "unknown" });
  return new ApiError(
    503,
    "queue_unavailable",
    "The schedule could not be changed in QStash; retry the request.",
  );
}

/** The input with `{{date}}` (YYYY-MM-DD) and `{{datetime}}` (YYYY-MM-DD HH:MM) of `at` in `timezone`. */
export function renderInput(template: string, at: number, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return template
    .replaceAll("{{date}}", date)
    .replaceAll("{{datetime}}", `${date} ${parts.hour}:${parts.minute}`);
}

/**
 * A schedule fired (QStash message `messageId`): start its run, once per firing. Outside
 * start_at/end_at, or deleted: nothing. A firing refused for good (its assistant was deleted, a
 * quota is used up) becomes a `failed` run with why, once per firing, whose callback gets
 * `run.failed` (refused.ts); infrastructure errors propagate so QStash retries.
 */
export async function fireSchedule(
  deps: IntakeDeps & Pick<ScheduleDeps, "schedules" | "config" | "tenants"> & { runs: RefuseDeps["runs"] },
  tenant: string,
  id: string,
  messageId: string,
): Promise<"started" | "skipped" | "refused"> {
  const s = await deps.schedules.get(tenant, id);
  const now = deps.now();
  // Pausing is QStash's: a firing QStash made before a pause still runs (it was due).
  if (!s) return "skipped";
  if ((s.start_at && now < Date.parse(s.start_at)) || (s.end_at && now > Date.parse(s.end_at)))
    return "skipped";
  let req: IntakeRequest | null = null;
  try {
    const callback = await callbackFor(deps, tenant, s.callback_url, undefined);
    req = {
      tenant,
      assistantId: s.assistant_id,
      thread: s.conversation ? { kind: "conversation", key: s.conversation } : { kind: "new" },
      messages: [{ role: "user", content: renderInput(s.input, now, s.timezone) }],
      overrides: {
        metadata: Object.keys(s.metadata).length < 16 ? { ...s.metadata, schedule_id: s.id } : s.metadata,
      },
      callback,
      progress: { intervalMs: deps.config.messageDeltaIntervalMs },
      timeoutS: deps.config.runTimeoutS,
      limits: {
        maxToolRounds: deps.config.maxToolRounds,
        requiresActionTimeoutS: deps.config.requiresActionTimeoutS,
      },
      idempotency: { key: `sched.${id}.${messageId}`, bodyHash: "schedule" },
      mode: "queue",
    };
    const accepted = await acceptRun(deps, req);
    // A repeat of a firing refused before answers the failed run it left.
    if (accepted.run.status === "failed" && accepted.replayed) return "refused";
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    log("warn", "a schedule's firing could not start a run", { schedule_id: id, code: err.code });
    if (req) await refuseRun(deps, await refusedRun(deps, req, now), refusalError(err), req.idempotency);
    return "refused";
  }
  // Only the firing's own field, on the record as it is now: a PATCH (a pause) since `s` was read stays.
  await deps.schedules.markFired(tenant, id, new Date(now).toISOString());
  return "started";
}

/** The run a refused firing would have made, as far as it is known (its assistant may be gone). */
async function refusedRun(deps: Pick<IntakeDeps, "assistants">, req: IntakeRequest, now: number) {
  const assistant = (await deps.assistants.get(req.tenant, req.assistantId)) ?? {
    id: req.assistantId,
    model: "",
    instructions: null,
    temperature: null,
    top_p: null,
    tools: [],
    response_format: "auto" as const,
  };
  return createRunRecord({
    id: newId("run"),
    tenant: req.tenant,
    threadId: newId("thread"),
    conversationKey: req.thread.kind === "conversation" ? req.thread.key : null,
    assistant,
    overrides: req.overrides,
    limits: req.limits,
    input: req.messages.map((m) => (typeof m.content === "string" ? m.content : "")).join("\n"),
    callback: req.callback,
    timeoutS: req.timeoutS,
    now,
  });
}
