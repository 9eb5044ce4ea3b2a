// QStash-v2-compatible local server (see README.md): publish, signed delivery, retries, DLQ, keys.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type FaultRule, Faults, sleep } from "../faults.ts";
import { createEngine, freshStats, type QStashStats } from "./engine.ts";
import { authorized, error, parseJson, type Reply, readBody, send } from "./http.ts";
import { newSigningKey } from "./jwt.ts";
import { createQuota, type QuotaOptions, type QuotaStats } from "./quota.ts";
import { isPublish, route, routeLabel } from "./routes.ts";
import { createSchedules, type ScheduleStats } from "./schedules.ts";

export type { QStashStats } from "./engine.ts";
export type { QuotaOptions } from "./quota.ts";

export type QStashOptions = {
  port?: number;
  host?: string;
  token?: string;
  currentSigningKey?: string;
  nextSigningKey?: string;
  /** Multiplies every delay: Upstash-Delay/Not-Before waits, backoff, Retry-Delay, Retry-After. */
  timeScale?: number;
  /** 0..1: fraction of successful deliveries sent a second time (deterministic accumulator). */
  duplicateFraction?: number;
  /** Callbacks carry at most this much of the destination's answer (default 1 MiB, the free plan's). */
  callbackBodyMaxBytes?: number;
  /** Refuse publishes past a daily quota or a per-second burst limit (429, as QStash does). */
  quota?: QuotaOptions;
  /** Fault switches (README: `publish_refuse`, `drop_delivery`, `duplicate`, `late`, `reorder`). */
  faultRules?: FaultRule[];
  /** Seed of the fault draws (default 1). */
  faultSeed?: number;
};

export const QSTASH_FAULT_KINDS = [
  "publish_refuse",
  "publish_lost_reply",
  "drop_delivery",
  "duplicate",
  "late",
  "reorder",
] as const;

export type QStashHandle = {
  url: string;
  token: string;
  readonly currentSigningKey: string;
  readonly nextSigningKey: string;
  stats(): QStashStats & { pending: number; quota: QuotaStats; schedules: ScheduleStats };
  resetStats(): void;
  /** The next key becomes current and a fresh next key is generated. */
  rotateKeys(): void;
  /** Change the refusal limits (`{}`: none); `resetUsage` starts a new quota day. */
  setQuota(opts: QuotaOptions, resetUsage?: boolean): void;
  /** The fault switches (same as `POST /__faults`). */
  faults: Faults;
  close(): Promise<void>;
};

/** Credentials of the official `qstash dev` server, so code written against it works unchanged. */
export const DEV_TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=";
export const DEV_CURRENT_SIGNING_KEY = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r";
export const DEV_NEXT_SIGNING_KEY = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs";

export async function startQStash(opts: QStashOptions = {}): Promise<QStashHandle> {
  const token = opts.token ?? DEV_TOKEN;
  const keys = {
    current: opts.currentSigningKey ?? DEV_CURRENT_SIGNING_KEY,
    next: opts.nextSigningKey ?? DEV_NEXT_SIGNING_KEY,
  };
  const duplicateFraction = Math.min(1, Math.max(0, opts.duplicateFraction ?? 0));
  const faults = new Faults(QSTASH_FAULT_KINDS, opts.faultRules ?? [], opts.faultSeed ?? 1);
  const engine = createEngine({
    timeScale: opts.timeScale ?? 1,
    duplicateFraction,
    keys,
    callbackBodyMaxBytes: opts.callbackBodyMaxBytes ?? 1024 * 1024,
    faults,
  });
  const rotateKeys = () => {
    keys.current = keys.next;
    keys.next = newSigningKey();
  };
  const quota = createQuota(opts.quota);
  const schedules = createSchedules(engine, opts.timeScale ?? 1);
  const ctx = { engine, schedules, keys, rotateKeys };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((cause: unknown) => send(res, error(500, `qstash-server: ${String(cause)}`)));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? "/";
    const mark = rawUrl.indexOf("?");
    const rawPath = mark < 0 ? rawUrl : rawUrl.slice(0, mark);
    const rawQuery = mark < 0 ? "" : rawUrl.slice(mark + 1);
    const query = new URLSearchParams(rawQuery);
    const method = req.method ?? "GET";
    const body = await readBody(req);
    if (rawPath === "/__stats" || rawPath === "/__stats/reset") return control(method, rawPath, res);
    if (rawPath === "/__quota" && method === "POST") return quotaControl(body, res);
    if (rawPath === "/__faults") {
      const answer = faults.control(method, body.toString("utf8"));
      return send(res, { status: answer.status, body: answer.body });
    }
    const label = routeLabel(method, rawPath);
    const { requests } = engine.state.stats;
    requests[label] = (requests[label] ?? 0) + 1;
    if (!authorized(req, query, token)) return send(res, error(401, "Unauthorized"));
    const publishes = isPublish(method, rawPath, body);
    const refused = publishes > 0 ? ((await refuseByFault(rawPath)) ?? quota.take(publishes)) : null;
    if (refused) return send(res, refused);
    const reply = route(ctx, { req, method, rawPath, rawQuery, query, body });
    send(res, (publishes > 0 && (await loseReply(rawPath, reply))) || reply);
  }

  /**
   * `publish_lost_reply`: the publish is queued (and delivered as usual), then `delayMs` (default 0)
   * later the publisher gets an error (`status`, default 500) instead of its answer — a publish that
   * looks failed but was not. A repeat with the same deduplication id is deduplicated as usual.
   */
  async function loseReply(rawPath: string, reply: Reply): Promise<Reply | null> {
    if (reply.status >= 300) return null;
    const rule = faults.take("publish_lost_reply", `POST ${rawPath}`);
    if (!rule) return null;
    if (rule.delayMs) await sleep(rule.delayMs);
    return { status: rule.status ?? 500, body: { error: "internal error (fault switch: reply lost)" } };
  }

  /**
   * `publish_refuse`: the publish is refused (nothing is queued), as QStash does under load or
   * limits; `delayMs` (default 0) later, as a slow answer that ends in a refusal.
   */
  async function refuseByFault(rawPath: string): Promise<Reply | null> {
    const rule = faults.take("publish_refuse", `POST ${rawPath}`);
    if (!rule) return null;
    if (rule.delayMs) await sleep(rule.delayMs);
    const status = rule.status ?? 429;
    const headers: Record<string, string> =
      rule.retryAfterS !== undefined ? { "Retry-After": String(rule.retryAfterS) } : {};
    const message = status === 429 ? "too many requests (fault switch)" : "internal error (fault switch)";
    return { status, body: { error: message }, headers };
  }

  function control(method: string, rawPath: string, res: http.ServerResponse): void {
    const known =
      (method === "POST" && rawPath === "/__stats/reset") || (method === "GET" && rawPath === "/__stats");
    if (known && method === "POST") engine.state.stats = freshStats();
    send(res, known ? { status: 200, body: withPending() } : error(404, "not found"));
  }

  /** `POST /__quota` `{dailyMessages?, burstPerSecond?, resetUsage?}`: the refusal limits, over HTTP. */
  function quotaControl(body: Buffer, res: http.ServerResponse): void {
    const parsed = parseJson(body) as (QuotaOptions & { resetUsage?: boolean }) | undefined;
    if (!parsed || typeof parsed !== "object") {
      send(res, error(400, "expected a JSON object"));
      return;
    }
    const { resetUsage, ...limits } = parsed;
    quota.set(limits);
    if (resetUsage) quota.resetUsage();
    send(res, { status: 200, body: quota.stats() });
  }

  /** The counters plus `pending`: messages accepted but not yet delivered, dead-lettered or cancelled. */
  const withPending = () => ({
    ...structuredClone(engine.state.stats),
    pending: engine.state.messages.size,
    quota: quota.stats(),
    schedules: schedules.stats(),
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    token,
    get currentSigningKey() {
      return keys.current;
    },
    get nextSigningKey() {
      return keys.next;
    },
    stats: withPending,
    resetStats: () => {
      engine.state.stats = freshStats();
    },
    rotateKeys,
    faults,
    setQuota: (limits, resetUsage = false) => {
      quota.set(limits);
      if (resetUsage) quota.resetUsage();
    },
    close: async () => {
      schedules.close();
      await engine.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
