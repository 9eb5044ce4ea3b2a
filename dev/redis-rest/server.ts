// Upstash-Redis-REST-compatible HTTP server in front of a real redis-server (see README.md).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type FaultRule, Faults, sleep } from "../faults.ts";
import { errorBody } from "./codec.ts";
import { type Outcome, runMultiExec, runPipeline, runSingle } from "./handlers.ts";
import { parseRedisUrl, RedisPool } from "./pool.ts";
import { spawnRedis } from "./spawn.ts";

/** Fail the next `failNext` requests (only those whose body contains `match`, when given). */
export type RedisRestFaults = { failNext: number; status?: number; match?: string | null };

export type RedisRestOptions = {
  port?: number;
  host?: string;
  token?: string;
  /** Use this Redis instead of spawning a private redis-server. */
  redisUrl?: string;
  /** Pipelined connections to Redis (default 4). */
  poolSize?: number;
  /** Make the next `failNext` REST requests fail with `status` (default 500). */
  faults?: RedisRestFaults;
  /** Fault switches (README: `error_before`, `error_after`, `timeout_before`, `timeout_after`, `slow`). */
  faultRules?: FaultRule[];
  /** Seed of the fault draws (default 1). */
  faultSeed?: number;
};

export const REDIS_FAULT_KINDS = [
  "error_before",
  "error_after",
  "timeout_before",
  "timeout_after",
  "slow",
] as const;
const DEFAULT_TIMEOUT_MS = 10_000;

export type RedisRestStats = {
  /** HTTP round trips to the REST API (not counting the `/__…` control endpoints). */
  requests: number;
  /** Redis commands executed on behalf of clients. */
  commands: number;
  byPath: Record<string, number>;
  unauthorized: number;
  faulted: number;
};

export type RedisRestHandle = {
  url: string;
  token: string;
  redisUrl: string;
  stats(): RedisRestStats;
  /** The fault switches (same as `POST /__faults` with `rules`). */
  faults: Faults;
  close(): Promise<void>;
};

export const DEFAULT_TOKEN = "threadhook-dev-redis-token";
const UNAUTHORIZED = "WRONGPASS invalid or missing auth token";

const freshStats = (): RedisRestStats => ({
  requests: 0,
  commands: 0,
  byPath: { "/": 0, "/pipeline": 0, "/multi-exec": 0 },
  unauthorized: 0,
  faulted: 0,
});

export async function startRedisRest(opts: RedisRestOptions = {}): Promise<RedisRestHandle> {
  const token = opts.token ?? DEFAULT_TOKEN;
  const spawned = opts.redisUrl ? undefined : await spawnRedis();
  const redisUrl = opts.redisUrl ?? spawned?.redisUrl ?? "";
  const pool = new RedisPool(parseRedisUrl(redisUrl), opts.poolSize ?? 4);
  const state = {
    stats: freshStats(),
    faults: {
      failNext: opts.faults?.failNext ?? 0,
      status: opts.faults?.status ?? 500,
      match: opts.faults?.match ?? null,
    },
    syncToken: 0,
  };
  const faults = new Faults(REDIS_FAULT_KINDS, opts.faultRules ?? [], opts.faultSeed ?? 1);

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, errorBody(`ERR redis-rest: ${String(error)}`)));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const body = await readBody(req);
    if (url.pathname.startsWith("/__")) return control(req.method ?? "GET", url.pathname, body, res);
    const { stats } = state;
    const legacy = state.faults;
    stats.requests++;
    if (legacy.failNext > 0 && (!legacy.match || body.toString("utf8").includes(legacy.match))) {
      legacy.failNext--;
      stats.faulted++;
      return send(res, legacy.status, errorBody(`ERR injected fault (HTTP ${legacy.status})`));
    }
    const subject = `${req.method} ${url.pathname} ${body.toString("utf8")}`;
    const before = faults.take("error_before", subject) ?? faults.take("timeout_before", subject);
    if (before) {
      stats.faulted++;
      return injectFault(res, before);
    }
    if (!authorized(req, url, token)) {
      stats.unauthorized++;
      return send(res, 401, errorBody(UNAUTHORIZED));
    }
    if (!["GET", "POST", "PUT", "HEAD"].includes(req.method ?? "")) {
      return send(res, 405, errorBody("ERR method not allowed"));
    }
    // `slow`: the command runs `delayMs` late and answers normally (a slow round trip).
    const slow = faults.take("slow", subject);
    if (slow) {
      stats.faulted++;
      await sleep(slow.delayMs ?? 1_000);
    }
    const outcome = await route(url.pathname, req.method ?? "GET", body, hasBase64(req));
    stats.commands += outcome.commands;
    state.syncToken++;
    const after = faults.take("error_after", subject) ?? faults.take("timeout_after", subject);
    if (after) {
      stats.faulted++;
      return injectFault(res, after);
    }
    send(res, outcome.status, outcome.body, { "upstash-sync-token": String(state.syncToken) });
  }

  /** An error answer, or (timeout kinds) no answer for `delayMs` and then a dropped connection. */
  async function injectFault(res: http.ServerResponse, rule: FaultRule): Promise<void> {
    if (rule.kind.startsWith("error_")) {
      const status = rule.status ?? 500;
      const headers: Record<string, string> =
        rule.retryAfterS !== undefined ? { "retry-after": String(rule.retryAfterS) } : {};
      return send(res, status, errorBody(`ERR injected ${rule.kind} fault (HTTP ${status})`), headers);
    }
    await sleep(rule.delayMs ?? DEFAULT_TIMEOUT_MS);
    res.destroy();
  }

  async function route(pathname: string, method: string, body: Buffer, base64: boolean): Promise<Outcome> {
    const { byPath } = state.stats;
    if (pathname === "/pipeline" || pathname === "/multi-exec") {
      byPath[pathname] = (byPath[pathname] ?? 0) + 1;
      const json = parseJson(body);
      if (json === undefined) return badJson();
      return pathname === "/pipeline" ? runPipeline(pool, json, base64) : runMultiExec(pool, json, base64);
    }
    byPath["/"] = (byPath["/"] ?? 0) + 1;
    if (pathname === "/" || pathname === "") {
      const json = parseJson(body);
      return json === undefined ? badJson() : runSingle(pool, json, base64);
    }
    return runSingle(pool, pathCommand(pathname, method, body), base64);
  }

  function control(method: string, pathname: string, body: Buffer, res: http.ServerResponse): void {
    const key = `${method} ${pathname}`;
    if (key === "POST /__stats/reset") state.stats = freshStats();
    if (key === "GET /__stats" || key === "POST /__stats/reset") {
      send(res, 200, JSON.stringify(state.stats));
    } else if (key === "GET /__faults" || key === "POST /__faults") {
      const input = method === "POST" ? parseJson(body) : undefined;
      if (input && typeof input === "object") Object.assign(state.faults, pickFaults(input));
      const answer = faults.control(method, body.toString("utf8"));
      const shown = answer.status === 200 ? { ...state.faults, ...answer.body } : answer.body;
      send(res, answer.status, JSON.stringify(shown));
    } else {
      send(res, 404, errorBody(`ERR unknown control endpoint ${key}`));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  }).catch(async (error) => {
    await pool.close();
    await spawned?.close();
    throw error;
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    token,
    redisUrl,
    stats: () => structuredClone(state.stats),
    faults,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
      await spawned?.close();
    },
  };
}

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body);
}

/** `Authorization: Bearer <token>`, or the `_token` query parameter the real service also accepts. */
function authorized(req: http.IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return (match?.[1] ?? url.searchParams.get("_token")) === token;
}

function hasBase64(req: http.IncomingMessage): boolean {
  return String(req.headers["upstash-encoding"] ?? "")
    .toLowerCase()
    .includes("base64");
}

/** Path form `/set/key/value`; a POST body becomes the last argument, as on the real service. */
function pathCommand(pathname: string, method: string, body: Buffer): string[] {
  const args = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (method !== "GET" && body.length > 0) args.push(body.toString("utf8"));
  return args;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function badJson(): Outcome {
  return { status: 400, body: errorBody("ERR failed to parse request body: invalid JSON"), commands: 0 };
}

function pickFaults(input: object): Partial<RedisRestFaults> {
  const { failNext, status, match } = input as Record<string, unknown>;
  const picked: Partial<RedisRestFaults> = {};
  if (typeof match === "string" || match === null) picked.match = match || null;
  if (typeof failNext === "number" && failNext >= 0) picked.failNext = Math.floor(failNext);
  if (typeof status === "number" && status >= 400 && status <= 599) picked.status = status;
  return picked;
}
