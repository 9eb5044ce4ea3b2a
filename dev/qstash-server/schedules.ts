// QStash schedules: `POST /v2/schedules/{destination}` (Upstash-Cron, optional Upstash-Schedule-Id to
// create or replace), list, get, delete, pause, resume. Each schedule publishes its message (the
// headers and body it was created with, plus `Upstash-Schedule-Id` on the delivery) at every cron
// time. Cron: five fields, UTC, or another IANA zone with a `CRON_TZ=Zone ` prefix, as QStash takes
// it. Time runs `1 / timeScale` times faster for schedules: with 0.01 an every-minute schedule
// fires every 0.6 s.
import { Cron } from "croner";
import type { Engine } from "./engine.ts";
import { error, getHeader, type Reply } from "./http.ts";
import { buildMessage, type PublishInput } from "./message.ts";
import { randomId } from "./jwt.ts";

type Schedule = {
  scheduleId: string;
  cron: string;
  /** The pattern without its CRON_TZ prefix, and its zone. */
  pattern: Cron;
  input: PublishInput;
  createdAt: number;
  isPaused: boolean;
  lastScheduleTime?: number;
  nextScheduleTime?: number;
  timer?: NodeJS.Timeout;
};

export type ScheduleStats = { active: number; fired: number };

/** A cron expression as QStash takes it → its evaluator, or the parser's reason. */
export function parseCron(cron: string): Cron | { error: string } {
  const m = /^CRON_TZ=(\S+)\s+(.+)$/.exec(cron.trim());
  const [zone, pattern] = m ? [m[1], m[2] as string] : [undefined, cron.trim()];
  if (pattern.split(/\s+/).length !== 5)
    return { error: `invalid cron: expected 5 fields, got "${pattern}"` };
  try {
    const c = new Cron(pattern, { paused: true, ...(zone ? { timezone: zone } : {}) });
    c.nextRun(); // an unknown zone fails here
    return c;
  } catch (cause) {
    return { error: `invalid cron: ${(cause as Error).message}` };
  }
}

export function createSchedules(engine: Engine, timeScale: number) {
  const schedules = new Map<string, Schedule>();
  const stats = { fired: 0 };
  // Schedule time: starts at the real clock and runs 1/timeScale times faster.
  const realStart = Date.now();
  const clock = () => realStart + (Date.now() - realStart) / timeScale;

  function arm(s: Schedule): void {
    clearTimeout(s.timer);
    s.timer = undefined;
    if (s.isPaused) return;
    const now = clock();
    const next = s.pattern.nextRun(new Date(now))?.getTime();
    s.nextScheduleTime = next;
    if (next === undefined) return;
    s.timer = setTimeout(() => fire(s, next), Math.max(0, (next - now) * timeScale));
  }

  function fire(s: Schedule, at: number): void {
    if (schedules.get(s.scheduleId) !== s || s.isPaused) return;
    s.lastScheduleTime = at;
    const built = buildMessage(s.input, Date.now());
    if (!("error" in built)) {
      built.message.deliver.push(["Upstash-Schedule-Id", s.scheduleId]);
      engine.publish(built.message, built.delayMs);
      stats.fired++;
    }
    arm(s);
  }

  function view(s: Schedule) {
    const header: Record<string, string[]> = {};
    for (const [k, v] of s.input.headers) {
      if (/^upstash-(cron|schedule-id)$/i.test(k)) continue;
      header[k] = [...(header[k] ?? []), v];
    }
    return {
      scheduleId: s.scheduleId,
      cron: s.cron,
      createdAt: s.createdAt,
      destination: s.input.destination,
      method: getHeader(s.input.headers, "Upstash-Method") ?? "POST",
      header,
      body: s.input.body.toString("utf8"),
      retries: Number(getHeader(s.input.headers, "Upstash-Retries") ?? 3),
      isPaused: s.isPaused,
      callerIp: s.input.callerIP,
      ...(s.lastScheduleTime !== undefined ? { lastScheduleTime: s.lastScheduleTime } : {}),
      ...(s.nextScheduleTime !== undefined && !s.isPaused ? { nextScheduleTime: s.nextScheduleTime } : {}),
    };
  }

  /** `POST /v2/schedules/{destination}`: create, or replace the schedule with that Upstash-Schedule-Id. */
  function create(input: PublishInput): Reply {
    const cron = getHeader(input.headers, "Upstash-Cron");
    if (!cron) return error(400, "Upstash-Cron header is required");
    const pattern = parseCron(cron);
    if ("error" in pattern) return error(400, pattern.error);
    const check = buildMessage(input, Date.now());
    if ("error" in check) return error(400, check.error);
    const scheduleId = getHeader(input.headers, "Upstash-Schedule-Id") ?? `scd_${randomId(24)}`;
    const old = schedules.get(scheduleId);
    clearTimeout(old?.timer);
    const s: Schedule = {
      scheduleId,
      cron,
      pattern,
      input,
      createdAt: old?.createdAt ?? Date.now(),
      isPaused: false,
    };
    schedules.set(scheduleId, s);
    arm(s);
    return { status: 200, body: { scheduleId } };
  }

  function route(method: string, parts: string[], input: () => PublishInput): Reply {
    // parts: after "v2", "schedules"
    const [id, action] = parts;
    if (method === "POST" && parts.length >= 1) return create(input());
    if (method === "GET" && parts.length === 0)
      return { status: 200, body: [...schedules.values()].map(view) };
    const s = id === undefined ? undefined : schedules.get(id);
    if (!s) return error(404, `schedule ${id ?? ""} not found`);
    if (method === "GET" && parts.length === 1) return { status: 200, body: view(s) };
    if (method === "DELETE" && parts.length === 1) {
      clearTimeout(s.timer);
      schedules.delete(s.scheduleId);
      return { status: 200 };
    }
    if (method === "PATCH" && (action === "pause" || action === "resume")) {
      s.isPaused = action === "pause";
      arm(s);
      return { status: 200 };
    }
    return error(404, "not found");
  }

  return {
    route,
    stats: (): ScheduleStats => ({
      active: [...schedules.values()].filter((s) => !s.isPaused).length,
      fired: stats.fired,
    }),
    close(): void {
      for (const s of schedules.values()) clearTimeout(s.timer);
      schedules.clear();
    },
  };
}
