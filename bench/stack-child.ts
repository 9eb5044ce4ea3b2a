/**
 * One bench configuration's local stack, in its own process so the load generator does not share
 * an event loop with the stand-ins: Redis REST (over its redis-server), QStash, the inbox, the
 * OpenAI simulator (on its own thread, see sim-thread.ts) and, unless `worker: false`, the Worker
 * in workerd behind the invocation meter. The parts and the Worker's variables are those of
 * `npm run dev` (dev/stack.ts). Prints one line `READY {json}`, then runs until SIGTERM.
 *
 * Argument: a JSON `ChildOptions`. Every Worker request (intake, QStash deliveries, OpenAI webhooks)
 * goes through the meter: `PUBLIC_URL` is the meter's URL.
 */
import { startInbox } from "../dev/inbox/server.ts";
import { startQStash } from "../dev/qstash-server/server.ts";
import { startRedisRest } from "../dev/redis-rest/server.ts";
import { DEV_API_KEY, DEV_WEBHOOK_SECRET, devWorkerVars } from "../dev/stack.ts";
import { startWorker } from "../dev/worker.ts";
import { findChild, processCpuReader, threadCpuReader, wranglerWorkerds } from "./cpu.ts";
import { startDelayProxy } from "./delay-proxy.ts";
import { delays, type Network } from "./network.ts";
import { startMeter } from "./proxy.ts";

const BENCH_LIMITS = { RATE_LIMIT_PER_MIN: "1000000", MAX_ACTIVE_RUNS: "1000" };
import { startSimThread } from "./sim-thread.ts";

export interface ChildOptions {
  worker: boolean;
  timeScale: number;
  workerVars: Record<string, string>;
  /** A `whsec_…` secret: wire the simulator's response webhooks to the Worker's /webhooks/openai. */
  openaiWebhookSecret: string | null;
  /** `production`: every hop the local stack makes instant is delayed as bench/network.ts models it. */
  network: Network;
  /** The network model's seed (bench/network.ts). */
  seed?: number;
  /** Open the Worker's V8 inspector on this port (bench/profile.ts). */
  inspectorPort?: number;
}

export interface ChildReady {
  /** The meter in front of the Worker (null without a Worker). */
  meter: string | null;
  /** Where the CPU counters are read (the meter's control endpoints, with or without a Worker). */
  probe: string;
  worker: string | null;
  redis: { url: string; token: string };
  qstash: { url: string };
  openai: { baseURL: string; url: string; apiKey: string };
  inbox: { url: string; secret: string };
  apiKey: string | null;
}

/**
 * CPU counters (ns) the meter reports: the main thread of the workerd that runs the Worker, all of
 * that workerd, wrangler's dev proxy (the other workerd), the stand-ins.
 */
function cpuProbes() {
  const probes = {
    main: (): number | null => null,
    workerdAll: (): number | null => null,
    devProxy: (): number | null => null,
    redisServer: (): number | null => 0,
  };
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
  const redisPid = findChild("redis-server");
  if (redisPid !== null) probes.redisServer = processCpuReader(redisPid);
  return {
    /**
     * Find the Worker's workerd by the port its dev proxy listens on. wrangler may start it after
     * the Worker reports ready, so until both are seen every reading tries again (and reads null).
     */
    watchWorkerd(port: number) {
      const find = () => {
        const pids = wranglerWorkerds(port);
        if (pids === null || pids.proxy === null) return false;
        probes.main = threadCpuReader(pids.runtime);
        probes.workerdAll = processCpuReader(pids.runtime);
        probes.devProxy = processCpuReader(pids.proxy);
        return true;
      };
      if (find()) return;
      const retry = (read: () => number | null) => () => (find() ? read() : null);
      probes.main = retry(() => probes.main());
      probes.workerdAll = retry(() => probes.workerdAll());
    },
    meter: {
      cpu: () => probes.main(),
      others: () => ({
        workerd_all_ns: probes.workerdAll(),
        dev_proxy_ns: probes.devProxy(),
        stack_ns: own() + (probes.redisServer() ?? 0),
      }),
    },
  };
}

async function main() {
  const opts = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
  const closers: (() => Promise<void>)[] = [];
  const redis = await startRedisRest({ port: 0 });
  closers.push(() => redis.close());
  const qstash = await startQStash({ port: 0, timeScale: opts.timeScale });
  closers.push(() => qstash.close());
  const inbox = await startInbox({ port: 0, secret: DEV_WEBHOOK_SECRET });
  closers.push(() => inbox.close());
  const sim = await startSimThread(opts.timeScale);
  closers.push(() => sim.close());
  // Every service the Worker calls sits behind a proxy that adds the hop's latency (none on the local
  // network) and counts the Worker's requests: its subrequests.
  const d = delays(opts.network ?? "local", opts.seed);
  const redisHop = await startDelayProxy(redis.url, { worker: d.redis, qstash: d.redis });
  const qstashHop = await startDelayProxy(qstash.url, { worker: d.qstashApi, qstash: d.qstashApi });
  const openaiHop = await startDelayProxy(sim.url, { worker: d.openaiApi, qstash: d.qstashToOpenai });
  for (const hop of [redisHop, qstashHop, openaiHop]) closers.push(() => hop.close());
  const probes = cpuProbes();
  const meter = await startMeter({
    ...probes.meter,
    subrequests: () =>
      redisHop.counts.worker + qstashHop.counts.worker + openaiHop.counts.worker + inbox.stats().requests,
    // QStash's deliveries and OpenAI's webhooks reach the Worker after their own delays.
    inboundDelayMs: (req) =>
      req.headers["upstash-signature"]
        ? d.qstashDelivery()
        : req.url?.startsWith("/webhooks/openai")
          ? d.openaiWebhook()
          : 0,
  });
  closers.push(() => meter.close());
  const proxied = {
    redis: { url: redisHop.url, token: redis.token },
    qstash: { ...qstash, url: qstashHop.url, token: qstash.token },
    openai: { apiKey: sim.apiKey, baseURL: `${openaiHop.url}/v1` },
  };
  const worker = opts.worker
    ? await startWorker({
        port: 0,
        ...(opts.inspectorPort === undefined ? {} : { inspectorPort: opts.inspectorPort }),
        vars: {
          ...devWorkerVars({
            redis: proxied.redis,
            qstash: {
              url: proxied.qstash.url,
              token: qstash.token,
              currentSigningKey: qstash.currentSigningKey,
              nextSigningKey: qstash.nextSigningKey,
            },
            openai: proxied.openai,
          }),
          LOG_LEVEL: "warn",
          PUBLIC_URL: meter.url,
          // The limiter stays in the path (its Redis trip is counted) but never refuses, and the
          // tenant's active-run cap is above any scenario's concurrency: the figures are the
          // pipeline's, not a limit's.
          ...BENCH_LIMITS,
          ...(opts.openaiWebhookSecret ? { OPENAI_WEBHOOK_SECRET: opts.openaiWebhookSecret } : {}),
          ...opts.workerVars,
        },
      })
    : null;
  if (worker) closers.push(() => worker.close());
  if (worker) probes.watchWorkerd(Number(new URL(worker.url).port));
  if (worker) meter.setTarget(worker.url);
  if (opts.openaiWebhookSecret) {
    const webhook = { url: `${meter.url}/webhooks/openai`, secret: opts.openaiWebhookSecret };
    await fetch(`${sim.url}/__sim/webhook`, { method: "POST", body: JSON.stringify(webhook) });
  }
  const ready: ChildReady = {
    meter: worker ? meter.url : null,
    probe: meter.url,
    worker: worker?.url ?? null,
    redis: { url: redis.url, token: redis.token },
    qstash: { url: qstash.url },
    // The baseline calls OpenAI through the same hop as the Worker; counters are read from the sim.
    openai: { baseURL: proxied.openai.baseURL, url: sim.url, apiKey: sim.apiKey },
    inbox: { url: inbox.url, secret: inbox.secret },
    apiKey: worker ? DEV_API_KEY : null,
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const close of closers.reverse()) await close().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  console.log(`READY ${JSON.stringify(ready)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
