/**
 * One place for configuration: a zod schema over the Worker's env, parsed once per env object.
 * Every missing or bad variable is reported together. Backing services are optional one by one:
 * a route that needs an unconfigured service answers 503 (see `requireService`), it does not crash.
 */
import { z } from "zod";
import { ApiError } from "./errors";
import { MIN_SECRET_CHARS, secretProblem, webhookSecretProblem } from "./security/credentials";

const url = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const secret = z.string().trim().min(1, "must not be empty");
/** A key threadhook checks callers against (strength checked after parsing, see keyProblems). */
const key = z.string().trim().min(MIN_SECRET_CHARS, `must be at least ${MIN_SECRET_CHARS} characters`);
const whsec = z.string().regex(/^whsec_[A-Za-z0-9+/]{20,}={0,2}$/, "must look like whsec_<base64>");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const MIB = 1024 * 1024;
/** Model → USD per million input and output tokens, as JSON: `{"gpt-4.1":{"input":2,"output":8}}`. */
const PriceEntries = z.array(
  z.tuple([
    z.string().min(1).max(256),
    z.strictObject({ input: z.number().min(0), output: z.number().min(0) }),
  ]),
);
/**
 * Parsed as entries and rebuilt with `Object.fromEntries`, so that a model named `__proto__` stays an
 * own property (a record schema would assign it, which sets the object's prototype instead).
 */
const priceJson = z.string().transform((text, ctx) => {
  try {
    const json: unknown = JSON.parse(text);
    if (json !== null && typeof json === "object" && !Array.isArray(json)) {
      const parsed = PriceEntries.safeParse(Object.entries(json));
      if (parsed.success) return Object.fromEntries(parsed.data);
    }
  } catch {}
  ctx.addIssue({ code: "custom", message: 'must be JSON like {"model":{"input":0.4,"output":1.6}}' });
  return z.NEVER;
});

/**
 * Where DEV_DIE_AT can kill the Worker: `after_run_written`: intake wrote the run (202 not sent, its
 * first step not published); `after_step_published`: a step published the next step but did not
 * save what it did; `before_supersede`: intake's script superseded queued runs or interrupted the
 * active one (`on_busy` latest / interrupt), and no cancel flag or step of theirs is written yet;
 * `before_callback_sent`: a run's end let go of its thread and slot and saved that, and the step
 * dies before the callback is sent (once per run and isolate: `dieOnceAt`).
 */
export const DIE_POINTS = [
  "after_run_written",
  "after_step_published",
  "before_supersede",
  "after_create_intent",
  "before_callback_sent",
] as const;
export type DiePoint = (typeof DIE_POINTS)[number];

const EnvSchema = z.object({
  THREADHOOK_ENV: z.enum(["production", "development"]).default("production"),
  API_KEY: key.optional(),
  OPERATOR_KEY: key.optional(),
  WEBHOOK_SECRET: whsec.optional(),
  WEBHOOK_SECRET_ROTATION_WINDOW_S: int(0, 30 * 86_400).default(86_400),
  RATE_LIMIT_PER_MIN: int(0, 1_000_000).default(600),
  AUTH_FAILURES_PER_MIN: int(0, 1_000_000).default(100),
  MAX_KEYS_PER_TENANT: int(1, 100_000).default(100),
  MAX_ACTIVE_RUNS: int(1, 100_000).default(20),
  MONTHLY_RUN_QUOTA: int(0, 1e12).default(0),
  MONTHLY_TOKEN_QUOTA: int(0, 1e15).default(0),
  MODEL_PRICES: priceJson.default({}),
  ALLOWED_MODELS: z
    .string()
    .regex(/^[^,\s]{1,256}(\s*,\s*[^,\s]{1,256})*$/, "must be a comma-separated list of model names")
    .optional(),
  PUBLIC_URL: url.optional(),
  UPSTASH_REDIS_REST_URL: url.optional(),
  UPSTASH_REDIS_REST_TOKEN: secret.optional(),
  QSTASH_URL: url.default("https://qstash.upstash.io"),
  QSTASH_TOKEN: secret.optional(),
  QSTASH_CURRENT_SIGNING_KEY: secret.optional(),
  QSTASH_NEXT_SIGNING_KEY: secret.optional(),
  OPENAI_API_KEY: secret.optional(),
  OPENAI_BASE_URL: url.default("https://api.openai.com/v1"),
  OPENAI_WEBHOOK_SECRET: whsec.optional(),
  DRIVE_STRATEGY: z.enum(["auto", "call", "poll", "budget-poll", "stream", "webhook"]).default("auto"),
  DRIVE_BUDGET_MS: int(0, 25_000).default(25_000),
  QSTASH_CALL_MAX_S: int(60, 86_400).default(900),
  RUN_TIMEOUT_S: int(1, 86_400).default(600),
  REQUIRES_ACTION_TIMEOUT_S: int(1, 86_400).default(600),
  MAX_TOOL_ROUNDS: int(1, 100).default(10),
  DELIVERY_RETRIES: int(0, 10).default(5),
  DELIVERY_BACKOFF_S: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, "must be a comma-separated list of seconds")
    .default("5,30,120,600,1800,3600,7200,14400,28800,86400"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  MAX_UPLOAD_BYTES: int(1, 512 * MIB).default(512 * MIB),
  ATTACHMENT_MAX_BYTES: int(1, 100 * MIB).default(32 * MIB),
  ATTACHMENT_TIMEOUT_MS: int(100, 60_000).default(20_000),
  FILE_LINK_TTL_S: int(60, 30 * 86_400).default(86_400),
  /** The reconciler re-publishes a step for an active run nothing has saved for this long. */
  RECONCILE_GRACE_S: int(0, 86_400).default(300),
  /**
   * Development only (refused elsewhere): the Worker dies (throws, answering 500) at this named
   * point between two writes, so a crash there can be reproduced (docs/local-stack.md).
   */
  DEV_DIE_AT: z.enum(DIE_POINTS).optional(),
  EVENT_FEED_WINDOW_S: int(0, 300).default(25),
  /** The least time between two `message.delta` events of one run (progress events). */
  MESSAGE_DELTA_INTERVAL_MS: int(200, 60_000).default(1000),
  RUN_AT_HORIZON_S: int(60, 366 * 86_400).default(7 * 86_400),
  MAX_SCHEDULES_PER_TENANT: int(0, 10_000).default(20),
  /** Runs that may wait behind a thread's active run (`on_busy: queue`); one more: 429 thread_queue_full. */
  THREAD_QUEUE_MAX: int(1, 1_000).default(20),
  MAX_INTEGRATIONS_PER_TENANT: int(0, 10_000).default(20),
  /** Slack's Web API (the local stack points it at its stand-in, dev/slack/). */
  SLACK_API_URL: url.default("https://slack.com/api"),
  /** Discord's REST API, which Discord integrations answer through (the stand-in's in development). */
  DISCORD_API_URL: url.default("https://discord.com/api/v10"),
});

type RawEnv = z.infer<typeof EnvSchema>;

/** Call at a named point: throws when DEV_DIE_AT names it (development only, see the schema). */
/** What DEV_DIE_AT throws: the Worker "died" there, so nothing it holds is let go (leases stay). */
export class WorkerDied extends Error {}

export function dieAt(config: Pick<Config, "devDieAt">, point: DiePoint): void {
  if (config.devDieAt === point) throw new WorkerDied(`DEV_DIE_AT: the Worker dies at ${point}`);
}

const diedFor = new Set<string>();

/** `dieAt`, for the first time each `key` (a run) reaches the point in this isolate only. */
export function dieOnceAt(config: Pick<Config, "devDieAt">, point: DiePoint, key: string): void {
  if (config.devDieAt !== point || diedFor.has(`${point} ${key}`)) return;
  diedFor.add(`${point} ${key}`);
  dieAt(config, point);
}

/** Every variable the Worker reads (for the deploy preflight, scripts/deploy-check.ts). */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape) as readonly (keyof RawEnv)[];

export interface Config {
  env: RawEnv["THREADHOOK_ENV"];
  devMode: boolean;
  /** The bootstrap key: role admin on tenant "default". */
  apiKey: string | null;
  /** Manages tenants and keys through /v1/admin. */
  operatorKey: string | null;
  /** Signs callbacks of tenant "default" until it has secrets of its own. */
  webhookSecret: string | null;
  secretRotationWindowS: number;
  /** Per key; a key's own limit wins. 0 = no limit. */
  rateLimitPerMin: number;
  /** Failed authentications per minute from one client address before it gets 429. 0 = no limit. */
  authFailuresPerMin: number;
  /** Live (unrevoked) API keys a tenant may hold. */
  maxKeysPerTenant: number;
  /** Per-tenant defaults; a tenant's own limits win. Quotas: 0 = none. */
  tenantDefaults: { maxActiveRuns: number; monthlyRuns: number; monthlyTokens: number };
  modelPrices: Record<string, { input: number; output: number }>;
  /** The models assistants and runs may use, as `/v1/models` lists them; empty: any model. */
  allowedModels: string[];
  publicUrl: string | null;
  redis: { url: string; token: string } | null;
  qstash: { url: string; token: string; currentSigningKey: string; nextSigningKey: string } | null;
  openai: { apiKey: string; baseURL: string; webhookSecret: string | null } | null;
  /**
   * The strategy in force: `auto` is resolved at parse time (see driveStrategy). `callMaxS`: the
   * longest QStash holds a call on the plan (its maximum HTTP response duration).
   */
  drive: { strategy: DriveStrategy; budgetMs: number; callMaxS: number };
  /** The reconciler's grace: an active run unsaved this long gets its step published again. */
  reconcileGraceMs: number;
  /** Development only: where the Worker dies on purpose (null: nowhere). */
  devDieAt: DiePoint | null;
  runTimeoutS: number;
  requiresActionTimeoutS: number;
  maxToolRounds: number;
  deliveryRetries: number;
  /** Delay before each delivery retry, in seconds (the last one repeats). */
  deliveryBackoffS: number[];
  logLevel: RawEnv["LOG_LEVEL"];
  files: {
    /** Largest upload through `POST /v1/files` (OpenAI's own limit is 512 MB). */
    maxUploadBytes: number;
    /** Largest file fetched from a webhook-API attachment URL (read into memory, then uploaded). */
    attachmentMaxBytes: number;
    /** How long fetching one attachment URL may take. */
    attachmentTimeoutMs: number;
    /** How long a callback's `download_url` works. */
    linkTtlS: number;
  };
  /** How long one `GET /v1/runs/{id}/events` stream follows a run before the client reconnects (0: answer what is there). */
  eventFeedWindowMs: number;
  /** MESSAGE_DELTA_INTERVAL_MS: the least time between two `message.delta` events of a run. */
  messageDeltaIntervalMs: number;
  /** How far ahead `run_at` / `delay_s` may put a run (QStash Free delays at most 7 days). */
  runAtHorizonS: number;
  /** Schedules a tenant may have (`POST /v1/schedules` past it: 429 schedule_limit). */
  maxSchedules: number;
  /** Runs that may wait behind a thread's active run (THREAD_QUEUE_MAX). */
  threadQueueMax: number;
  /** Integrations a tenant may have (`POST /v1/integrations` past it: 429 integration_limit). */
  maxIntegrations: number;
  /** Slack's Web API base URL (no trailing slash); the outbound URL policy applies to it. */
  slackApiUrl: string;
  /** Discord's REST API base URL (no trailing slash), where Discord integrations post answers. */
  discordApiUrl: string;
}

export type DriveStrategy = Exclude<RawEnv["DRIVE_STRATEGY"], "auto">;

/**
 * `auto` (the default): `webhook` when OpenAI's webhooks are configured; else `call` (QStash makes
 * the model call and calls back: no invocation is held or polls, each stays far under Workers Free's
 * 10 ms), when QStash can reach the OpenAI base URL and hold a call for a whole run; else `poll`.
 * `stream` stays for plans with CPU to spare. docs/performance.md has the numbers behind it.
 */
function driveStrategy(e: RawEnv, devMode: boolean): DriveStrategy {
  if (e.DRIVE_STRATEGY !== "auto") return e.DRIVE_STRATEGY;
  if (e.OPENAI_WEBHOOK_SECRET) return "webhook";
  return callUsable(e, devMode) ? "call" : "poll";
}

/** Slack between a run's timeout and the end of QStash's call, so a timed-out run is seen ending. */
export const CALL_TIMEOUT_MARGIN_S = 2;

/**
 * QStash (a public service) must reach the OpenAI base URL — https and not a local address, except
 * in development where the local QStash stand-in calls the local simulator — and hold a call for a
 * run's whole timeout.
 */
function callUsable(e: RawEnv, devMode: boolean): boolean {
  if (e.RUN_TIMEOUT_S + CALL_TIMEOUT_MARGIN_S > e.QSTASH_CALL_MAX_S) return false;
  if (devMode) return true;
  const url = new URL(e.OPENAI_BASE_URL);
  return url.protocol === "https:" && !isLocalHost(url.hostname);
}

const isLocalHost = (host: string) =>
  host === "localhost" ||
  host.endsWith(".localhost") ||
  /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|0\.)/.test(host) ||
  host.startsWith("[");

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Groups of variables that configure one service: all or none must be set. */
const GROUPS: Record<string, (keyof RawEnv)[]> = {
  redis: ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
  qstash: ["QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"],
};

export function parseConfig(env: Record<string, unknown>): ConfigResult {
  const input = Object.fromEntries(
    Object.keys(EnvSchema.shape).map((k) => [k, env[k] === "" ? undefined : env[k]]),
  );
  const parsed = EnvSchema.safeParse(input);
  // Every problem is reported together: the schema's, and the checks across variables, which read
  // the raw values so that they run even when some variable does not parse.
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`);
  const raw = input as Partial<Record<keyof RawEnv, string>>;
  const devMode = raw.THREADHOOK_ENV === "development";
  for (const keys of Object.values(GROUPS)) {
    const missing = keys.filter((k) => raw[k] === undefined);
    if (missing.length > 0 && missing.length < keys.length)
      problems.push(...missing.map((k) => `${k}: missing (the other variables of its group are set)`));
  }
  if (!devMode && typeof raw.PUBLIC_URL === "string" && raw.PUBLIC_URL.startsWith("http:"))
    problems.push("PUBLIC_URL: must be https outside development");
  if (!devMode && typeof raw.DISCORD_API_URL === "string" && raw.DISCORD_API_URL.startsWith("http:"))
    problems.push("DISCORD_API_URL: must be https outside development (bot tokens travel to it)");
  if (!devMode && !raw.PUBLIC_URL && raw.QSTASH_TOKEN)
    problems.push(
      "PUBLIC_URL: required in production when QStash is configured (steps are published to it and verified against it; the request's Host is never trusted)",
    );
  if (parsed.success) problems.push(...keyProblems(parsed.data, devMode));
  if (!devMode && raw.DEV_DIE_AT !== undefined)
    problems.push("DEV_DIE_AT: only in development (THREADHOOK_ENV=development); it kills the Worker");
  if (raw.OPERATOR_KEY && raw.OPERATOR_KEY === raw.API_KEY)
    problems.push("OPERATOR_KEY: must differ from API_KEY");
  if (raw.DRIVE_STRATEGY === "webhook" && !raw.OPENAI_WEBHOOK_SECRET)
    problems.push(
      "DRIVE_STRATEGY: webhook needs OPENAI_WEBHOOK_SECRET (without webhooks it only polls rarely)",
    );
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const e = parsed.data;
  return { ok: true, config: toConfig(e, devMode) };
}

/** Keys and secrets with too little randomness (their length is checked by the schema). */
function keyProblems(e: RawEnv, devMode: boolean): string[] {
  const checks = [
    ["API_KEY", e.API_KEY && secretProblem(e.API_KEY, devMode)],
    ["OPERATOR_KEY", e.OPERATOR_KEY && secretProblem(e.OPERATOR_KEY, devMode)],
    ["WEBHOOK_SECRET", e.WEBHOOK_SECRET && webhookSecretProblem(e.WEBHOOK_SECRET, devMode)],
  ] as const;
  return checks.flatMap(([name, problem]) => (problem ? [`${name}: ${problem}`] : []));
}

function toConfig(e: RawEnv, devMode: boolean): Config {
  return {
    env: e.THREADHOOK_ENV,
    devMode,
    apiKey: e.API_KEY ?? null,
    operatorKey: e.OPERATOR_KEY ?? null,
    webhookSecret: e.WEBHOOK_SECRET ?? null,
    secretRotationWindowS: e.WEBHOOK_SECRET_ROTATION_WINDOW_S,
    rateLimitPerMin: e.RATE_LIMIT_PER_MIN,
    authFailuresPerMin: e.AUTH_FAILURES_PER_MIN,
    maxKeysPerTenant: e.MAX_KEYS_PER_TENANT,
    tenantDefaults: {
      maxActiveRuns: e.MAX_ACTIVE_RUNS,
      monthlyRuns: e.MONTHLY_RUN_QUOTA,
      monthlyTokens: e.MONTHLY_TOKEN_QUOTA,
    },
    modelPrices: e.MODEL_PRICES,
    allowedModels: e.ALLOWED_MODELS?.split(",").map((m) => m.trim()) ?? [],
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, "") ?? null,
    redis:
      e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN
        ? { url: e.UPSTASH_REDIS_REST_URL, token: e.UPSTASH_REDIS_REST_TOKEN }
        : null,
    qstash:
      e.QSTASH_TOKEN && e.QSTASH_CURRENT_SIGNING_KEY && e.QSTASH_NEXT_SIGNING_KEY
        ? {
            url: e.QSTASH_URL.replace(/\/+$/, ""),
            token: e.QSTASH_TOKEN,
            currentSigningKey: e.QSTASH_CURRENT_SIGNING_KEY,
            nextSigningKey: e.QSTASH_NEXT_SIGNING_KEY,
          }
        : null,
    openai: e.OPENAI_API_KEY
      ? {
          apiKey: e.OPENAI_API_KEY,
          baseURL: e.OPENAI_BASE_URL.replace(/\/+$/, ""),
          webhookSecret: e.OPENAI_WEBHOOK_SECRET ?? null,
        }
      : null,
    drive: {
      strategy: driveStrategy(e, devMode),
      budgetMs: e.DRIVE_BUDGET_MS,
      callMaxS: e.QSTASH_CALL_MAX_S,
    },
    reconcileGraceMs: e.RECONCILE_GRACE_S * 1000,
    devDieAt: e.DEV_DIE_AT ?? null,
    runTimeoutS: e.RUN_TIMEOUT_S,
    requiresActionTimeoutS: e.REQUIRES_ACTION_TIMEOUT_S,
    maxToolRounds: e.MAX_TOOL_ROUNDS,
    deliveryRetries: e.DELIVERY_RETRIES,
    deliveryBackoffS: e.DELIVERY_BACKOFF_S.split(",").map(Number),
    logLevel: e.LOG_LEVEL,
    files: {
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      attachmentMaxBytes: e.ATTACHMENT_MAX_BYTES,
      attachmentTimeoutMs: e.ATTACHMENT_TIMEOUT_MS,
      linkTtlS: e.FILE_LINK_TTL_S,
    },
    eventFeedWindowMs: e.EVENT_FEED_WINDOW_S * 1000,
    messageDeltaIntervalMs: e.MESSAGE_DELTA_INTERVAL_MS,
    runAtHorizonS: e.RUN_AT_HORIZON_S,
    maxSchedules: e.MAX_SCHEDULES_PER_TENANT,
    threadQueueMax: e.THREAD_QUEUE_MAX,
    maxIntegrations: e.MAX_INTEGRATIONS_PER_TENANT,
    slackApiUrl: e.SLACK_API_URL.replace(/\/+$/, ""),
    discordApiUrl: e.DISCORD_API_URL.replace(/\/+$/, ""),
  };
}

const cache = new WeakMap<object, ConfigResult>();

/** Parse once per isolate (the env object is stable for an isolate's lifetime). */
export function loadConfig(env: object): ConfigResult {
  let result = cache.get(env);
  if (!result) {
    result = parseConfig(env as Record<string, unknown>);
    cache.set(env, result);
  }
  return result;
}

export function requireConfig(env: object): Config {
  const result = loadConfig(env);
  if (!result.ok) {
    throw new ApiError(503, "config_invalid", `threadhook is misconfigured: ${result.problems.join("; ")}`);
  }
  return result.config;
}

type Service = "redis" | "qstash" | "openai";
const SERVICE_VARS: Record<Service, string> = {
  redis: "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN",
  qstash: "QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY",
  openai: "OPENAI_API_KEY",
};

export function requireService<S extends Service>(config: Config, service: S): NonNullable<Config[S]> {
  const value = config[service];
  if (!value) {
    throw new ApiError(
      503,
      "service_not_configured",
      `${service} is not configured: set ${SERVICE_VARS[service]}.`,
    );
  }
  return value as NonNullable<Config[S]>;
}
