/**
 * One bench configuration's local stack, in its own process so the load generator does not share
 * an event loop with the stand-ins: Redis REST, QStash, the OpenAI simulator, the inbox, and
 * (unless `worker: false`) the Worker in workerd behind the invocation meter. Prints one line
 * `READY {json}` with the URLs, then runs until SIGTERM.
 *
 * Argument: a JSON `ChildOptions`. Every Worker request (intake, QStash deliveries, OpenAI webhooks)
 * goes through the meter: `PUBLIC_URL` is the meter's URL.
 */
import { startStack } from "../dev/stack.ts";
import { findChild, processCpuReader, threadCpuReader } from "./cpu.ts";
import { startMeter } from "./proxy.ts";

export interface ChildOptions {
  worker: boolean;
  timeScale: number;
  workerVars: Record<string, string>;
  /** A `whsec_…` secret: wire the simulator's response webhooks to the Worker's /webhooks/openai. */
  openaiWebhookSecret: string | null;
}

export interface ChildReady {
  meter: string | null;
  worker: string | null;
  workerdPid: number | null;
  redis: { url: string; token: string };
  qstash: { url: string };
  openai: { baseURL: string; url: string; apiKey: string };
  inbox: { url: string; secret: string };
  apiKey: string | null;
}

async function main() {
  const opts = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
  let cpu: () => number | null = () => null;
  let workerdAll: () => number | null = () => null;
  let redisServer: () => number | null = () => 0;
  const stackCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000 + (redisServer() ?? 0);
  };
  const meter = await startMeter({
    cpu: () => cpu(),
    others: () => ({ workerd_all_ns: workerdAll(), stack_ns: stackCpu() }),
  });
  const stack = await startStack({
    ports: { worker: 0, redis: 0, qstash: 0, openai: 0, inbox: 0 },
    worker: opts.worker,
    timeScale: opts.timeScale,
    workerVars: {
      LOG_LEVEL: "warn",
      PUBLIC_URL: meter.url,
      ...(opts.openaiWebhookSecret ? { OPENAI_WEBHOOK_SECRET: opts.openaiWebhookSecret } : {}),
      ...opts.workerVars,
    },
  });
  const workerdPid = opts.worker ? findChild("workerd") : null;
  const redisPid = findChild("redis-server");
  if (redisPid !== null) redisServer = processCpuReader(redisPid);
  if (workerdPid !== null) {
    cpu = threadCpuReader(workerdPid);
    workerdAll = processCpuReader(workerdPid);
  }
  if (stack.worker) meter.setTarget(stack.worker.url);
  if (opts.openaiWebhookSecret)
    stack.openai.setWebhook({ url: `${meter.url}/webhooks/openai`, secret: opts.openaiWebhookSecret });
  const ready: ChildReady = {
    meter: stack.worker ? meter.url : null,
    worker: stack.worker?.url ?? null,
    workerdPid,
    redis: stack.ready.redis,
    qstash: { url: stack.qstash.url },
    openai: { baseURL: stack.openai.baseURL, url: stack.openai.url, apiKey: stack.openai.apiKey },
    inbox: { url: stack.inbox.url, secret: stack.inbox.secret },
    apiKey: stack.ready.apiKey ?? null,
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stack.close();
    await meter.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  process.on("disconnect", () => void stop());
  console.log(`READY ${JSON.stringify(ready)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
