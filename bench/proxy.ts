/**
 * The invocation meter: an HTTP proxy in front of the Worker through which every request reaches
 * it (the bench's intake requests, QStash's step deliveries, the OpenAI stand-in's webhooks). It
 * records each invocation (path, body head for attribution, wall time) and, in `serialize` mode,
 * lets one request into workerd at a time so that the main thread's CPU between a request's start
 * and its end (plus a short settle) belongs to that request alone. Serializing cannot deadlock: no
 * Worker invocation waits for another one (they only publish to QStash, which delivers later).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { forward, readAll } from "./forward.ts";

export interface Invocation {
  method: string;
  path: string;
  status: number;
  started_ms: number;
  wall_ms: number;
  /** Main-thread CPU of workerd during this request, in ns; null when not measured alone. */
  cpu_ns: number | null;
  /** Requests the Worker sent while serving this one (its subrequests); null when not measured alone. */
  subrequests: number | null;
  /** The first bytes of the request and response bodies (run ids, step messages). */
  req_head: string;
  res_head: string;
}

/** Time after a response during which workerd may still finish the invocation (CPU still counted). */
const SETTLE_MS = 2;
const HEAD_BYTES = 600;

export interface MeterOptions {
  /** Reads workerd's main-thread CPU in ns (null when unknown). */
  cpu: () => number | null;
  /** Other CPU counters (ns) reported next to it, for diagnosis. */
  others: () => Record<string, number | null>;
  /** Requests the Worker has sent so far (to Redis, QStash, OpenAI, callback and tool URLs). */
  subrequests?: () => number;
  /** Latency added before a request reaches the Worker (QStash's delivery, OpenAI's webhook). */
  inboundDelayMs?: (req: http.IncomingMessage) => number;
}

export async function startMeter(opts: MeterOptions) {
  let target: URL | null = null;
  let serialize = false;
  let log: Invocation[] = [];
  const queue: (() => void)[] = [];
  let active = 0;
  const idleWaiters = new Set<() => void>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

  const release = () => {
    active--;
    const next = queue.shift();
    if (next) next();
    else if (active === 0) for (const wake of [...idleWaiters]) wake();
  };
  const admit = () =>
    new Promise<void>((resolve) => {
      if (!serialize || active === 0) {
        active++;
        resolve();
      } else
        queue.push(() => {
          active++;
          resolve();
        });
    });

  const server = http.createServer(async (req, res) => {
    const body = await readAll(req);
    const url = req.url ?? "/";
    if (url.startsWith("/__bench/")) return control(req.method ?? "GET", url, body, res);
    const inbound = opts.inboundDelayMs?.(req) ?? 0;
    if (inbound > 0) await new Promise((r) => setTimeout(r, inbound));
    await admit();
    const measured = serialize;
    const cpuStart = measured ? opts.cpu() : null;
    const subStart = measured ? (opts.subrequests?.() ?? null) : null;
    const started = Date.now();
    const t0 = performance.now();
    const reply = await pass(req, body).catch((err: unknown) => ({
      status: 502,
      headers: {} as http.IncomingHttpHeaders,
      body: Buffer.from(`meter: ${String(err)}`),
    }));
    const wall = performance.now() - t0;
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body);
    if (measured) await new Promise((r) => setTimeout(r, SETTLE_MS));
    const cpuEnd = measured ? opts.cpu() : null;
    const subEnd = measured ? (opts.subrequests?.() ?? null) : null;
    log.push({
      method: req.method ?? "GET",
      path: url.split("?")[0] ?? url,
      status: reply.status,
      started_ms: started,
      wall_ms: wall,
      cpu_ns: cpuStart !== null && cpuEnd !== null ? cpuEnd - cpuStart : null,
      subrequests: subStart !== null && subEnd !== null ? subEnd - subStart : null,
      req_head: body.subarray(0, HEAD_BYTES).toString("utf8"),
      res_head: reply.body.subarray(0, HEAD_BYTES).toString("utf8"),
    });
    release();
  });

  function pass(req: http.IncomingMessage, body: Buffer) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        if (!target) return reject(new Error("no target yet"));
        forward(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, "content-length": String(body.length) },
            agent,
          },
          body,
          (r) =>
            readAll(r).then((b) =>
              resolve({ status: r.statusCode ?? 502, headers: endToEnd(r.headers), body: b }),
            ),
          reject,
        );
      },
    );
  }

  function control(method: string, url: string, body: Buffer, res: http.ServerResponse) {
    const u = new URL(url, "http://meter");
    const send = (value: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (u.pathname === "/__bench/invocations") return send(log);
    if (u.pathname === "/__bench/cpu") return send({ cpu_ns: opts.cpu(), ...opts.others() });
    if (method === "POST" && u.pathname === "/__bench/reset") {
      log = [];
      return send({ ok: true });
    }
    if (method === "POST" && u.pathname === "/__bench/mode") {
      serialize = Boolean(JSON.parse(body.toString("utf8") || "{}").serialize);
      return send({ serialize });
    }
    if (u.pathname === "/__bench/idle") {
      const waitMs = Number(u.searchParams.get("wait_ms") ?? 0);
      if (active === 0) return send({ idle: true });
      const done = (idle: boolean) => {
        idleWaiters.delete(wake);
        clearTimeout(timer);
        send({ idle });
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), waitMs);
      idleWaiters.add(wake);
      return;
    }
    res.writeHead(404).end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    setTarget: (t: string) => {
      target = new URL(t);
    },
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);
const endToEnd = (headers: http.IncomingHttpHeaders) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_BY_HOP.has(k)));
