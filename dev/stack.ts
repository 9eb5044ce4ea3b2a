/**
 * The local stack: Upstash-Redis-REST over a real redis-server, a QStash-compatible server, an
 * OpenAI Responses/Conversations simulator, a callback inbox, and (optionally) the Worker wired to
 * them. `npm run dev` / `npm run stack` run this file; tests import `startStack`.
 */
import { startDiscord } from "./discord/server.ts";
import type { FaultRule } from "./faults.ts";
import { DEFAULT_INBOX_SECRET, startInbox } from "./inbox/server.ts";
import { startOpenAISim } from "./openai-sim/server.ts";
import { startQStash } from "./qstash-server/server.ts";
import { startRedisRest } from "./redis-rest/server.ts";
import { postsTable, SLACK_DEV, startSlack } from "./slack/server.ts";
import { startWorker, type WorkerHandle, type WorkerLogLevel } from "./worker.ts";

/** Fixed dev credentials (documented in the README); never used outside development mode. */
export const DEV_API_KEY = "thk_dev_0000000000000000000000000000";
export const DEV_OPERATOR_KEY = "thop_dev_000000000000000000000000000";
export const DEV_WEBHOOK_SECRET = DEFAULT_INBOX_SECRET;

const PORTS = {
  worker: { env: "THREADHOOK_PORT", default: 8787 },
  redis: { env: "REDIS_REST_PORT", default: 8079 },
  qstash: { env: "QSTASH_PORT", default: 8080 },
  openai: { env: "OPENAI_SIM_PORT", default: 8081 },
  inbox: { env: "INBOX_PORT", default: 8082 },
  slack: { env: "SLACK_PORT", default: 8083 },
  discord: { env: "DISCORD_PORT", default: 8084 },
} as const;
type Part = keyof typeof PORTS;

export interface StackOptions {
  /**
   * Port per part; 0 = ephemeral (tests). Omitted: the env variable, else the fixed default; with
   * `ports` given, a part it does not name is ephemeral too.
   */
  ports?: Partial<Record<Part, number>>;
  worker?: boolean;
  /** Extra or overriding Worker variables (e.g. DRIVE_STRATEGY). */
  workerVars?: Record<string, string>;
  watch?: boolean;
  /** How much of the Worker's console wrangler passes on (default "warn"; "log" = every line). */
  workerLogLevel?: WorkerLogLevel;
  timeScale?: number;
  openaiDelayMs?: number;
  qstashDuplicateFraction?: number;
  /** Fault switches per stand-in at start (docs/reliability.md); each can change them at run time. */
  faults?: Partial<Record<"redis" | "qstash" | "openai" | "inbox" | "discord", FaultRule[]>>;
  /** Seed of every stand-in's fault draws (default 1). */
  faultSeed?: number;
  /** Deliveries the inbox keeps (default 1000). */
  inboxMaxDeliveries?: number;
}

/** `npm run dev`: every `THREADHOOK_VAR_<NAME>` environment variable becomes the Worker variable `<NAME>`. */
export const WORKER_VAR_PREFIX = "THREADHOOK_VAR_";

export function workerVarsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(WORKER_VAR_PREFIX) || value === undefined) continue;
    const key = name.slice(WORKER_VAR_PREFIX.length);
    if (/^[A-Z][A-Z0-9_]*$/.test(key)) vars[key] = value;
  }
  return vars;
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

function portFor(part: Part, opts: StackOptions): number {
  const given = opts.ports?.[part];
  if (given !== undefined) return given;
  // A caller that names ports (tests) gets an ephemeral one for a part it does not name (a newer one).
  if (opts.ports) return 0;
  const fromEnv = process.env[PORTS[part].env];
  if (fromEnv === undefined || fromEnv === "") return PORTS[part].default;
  const n = Number(fromEnv);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${PORTS[part].env}=${fromEnv} is not a port number`);
  return n;
}

/** Start one part, turning "address in use" into an error that names the variable to change. */
async function withPort<T>(part: Part, opts: StackOptions, start: (port: number) => Promise<T>): Promise<T> {
  const port = portFor(part, opts);
  try {
    return await start(port);
  } catch (err) {
    if (
      String((err as { code?: string }).code ?? err).includes("EADDRINUSE") ||
      String(err).includes("EADDRINUSE")
    ) {
      throw new Error(`port ${port} for the ${part} is in use: set ${PORTS[part].env} to a free port`);
    }
    throw err;
  }
}

/** The Worker's variables pointing at the local stand-ins, in development mode with the dev credentials. */
export function devWorkerVars(parts: {
  redis: { url: string; token: string };
  qstash: { url: string; token: string; currentSigningKey: string; nextSigningKey: string };
  openai: { apiKey: string; baseURL: string };
  /** The Slack stand-in (its Web API is under `/api`). */
  slack?: { url: string };
  /** The Discord stand-in (omitted: the Worker keeps Discord's real API URL). */
  discord?: { apiUrl: string };
}): Record<string, string> {
  const { redis, qstash, openai, slack, discord } = parts;
  return {
    THREADHOOK_ENV: "development",
    API_KEY: DEV_API_KEY,
    OPERATOR_KEY: DEV_OPERATOR_KEY,
    WEBHOOK_SECRET: DEV_WEBHOOK_SECRET,
    UPSTASH_REDIS_REST_URL: redis.url,
    UPSTASH_REDIS_REST_TOKEN: redis.token,
    QSTASH_URL: qstash.url,
    QSTASH_TOKEN: qstash.token,
    QSTASH_CURRENT_SIGNING_KEY: qstash.currentSigningKey,
    QSTASH_NEXT_SIGNING_KEY: qstash.nextSigningKey,
    OPENAI_API_KEY: openai.apiKey,
    OPENAI_BASE_URL: openai.baseURL,
    ...(slack ? { SLACK_API_URL: `${slack.url}/api` } : {}),
    ...(discord ? { DISCORD_API_URL: discord.apiUrl } : {}),
  };
}

export async function startStack(opts: StackOptions = {}) {
  const timeScale = opts.timeScale ?? 1;
  const faultSeed = opts.faultSeed ?? 1;
  const faults = opts.faults ?? {};
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const redis = await withPort("redis", opts, (port) =>
      startRedisRest({ port, faultRules: faults.redis ?? [], faultSeed }),
    );
    closers.push(() => redis.close());
    const qstash = await withPort("qstash", opts, (port) =>
      startQStash({
        port,
        timeScale,
        duplicateFraction: opts.qstashDuplicateFraction ?? 0,
        faultRules: faults.qstash ?? [],
        faultSeed,
      }),
    );
    closers.push(() => qstash.close());
    const openai = await withPort("openai", opts, (port) =>
      startOpenAISim({
        port,
        timeScale,
        faultRules: faults.openai ?? [],
        faultSeed,
        ...(opts.openaiDelayMs !== undefined ? { defaultDelayMs: opts.openaiDelayMs } : {}),
      }),
    );
    closers.push(() => openai.close());
    const discord = await withPort("discord", opts, (port) =>
      startDiscord({ port, faultRules: faults.discord ?? [], faultSeed }),
    );
    closers.push(() => discord.close());
    const inbox = await withPort("inbox", opts, (port) =>
      startInbox({
        port,
        secret: DEV_WEBHOOK_SECRET,
        faultRules: faults.inbox ?? [],
        faultSeed,
        ...(opts.inboxMaxDeliveries !== undefined ? { maxDeliveries: opts.inboxMaxDeliveries } : {}),
      }),
    );
    closers.push(() => inbox.close());
    const slack = await withPort("slack", opts, (port) => startSlack({ port }));
    closers.push(() => slack.close());
    inbox.addSection("What the bot posted in Slack (the Slack stand-in)", () => postsTable(slack.posts()));
    inbox.addSection("What the bot posted in Discord (the Discord stand-in)", () => discord.postsHtml());
    let worker: WorkerHandle | null = null;
    if (opts.worker) {
      const vars = { ...devWorkerVars({ redis, qstash, openai, slack, discord }), ...opts.workerVars };
      worker = await withPort("worker", opts, (port) =>
        startWorker({ port, vars, watch: opts.watch ?? false, logLevel: opts.workerLogLevel ?? "warn" }),
      );
      closers.push(() => (worker as WorkerHandle).close());
    }
    const ready = {
      ...(worker ? { worker: worker.url } : {}),
      redis: { url: redis.url, token: redis.token },
      qstash: {
        url: qstash.url,
        token: qstash.token,
        currentSigningKey: qstash.currentSigningKey,
        nextSigningKey: qstash.nextSigningKey,
      },
      openai: { baseURL: openai.baseURL, apiKey: openai.apiKey },
      inbox: { url: inbox.url, secret: inbox.secret },
      slack: { url: slack.url, botToken: SLACK_DEV.botToken, signingSecret: SLACK_DEV.signingSecret },
      discord: {
        url: discord.url,
        apiUrl: discord.apiUrl,
        applicationId: discord.applicationId,
        publicKey: discord.publicKeyHex,
        botToken: discord.botToken,
      },
      ...(worker
        ? { apiKey: DEV_API_KEY, operatorKey: DEV_OPERATOR_KEY, webhookSecret: DEV_WEBHOOK_SECRET }
        : {}),
    };
    return { ready, redis, qstash, openai, inbox, slack, discord, worker, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function main() {
  const withWorker = process.argv.includes("--worker");
  const workerVars = workerVarsFromEnv();
  const stack = await startStack({ worker: withWorker, watch: withWorker, workerVars });
  const names = Object.keys(workerVars);
  if (withWorker && names.length > 0)
    console.error(`Worker variables from the environment: ${names.join(", ")}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the local stack…`);
    await stack.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  console.log(`READY ${JSON.stringify(stack.ready)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
