/**
 * `GET /health`: a minimal liveness for anyone (`{"status":"ok"}`, or `"misconfigured"` with 503),
 * which touches no backing service; with the operator key (`Authorization: Bearer <OPERATOR_KEY>`)
 * the details: environment, drive strategy, and whether Redis, QStash and OpenAI are configured and
 * answer. Their probes are made at most once per HEALTH_CACHE_MS per isolate (concurrent requests
 * share one probe), so polling /health cannot fan out to three authenticated calls a hit.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { type Config, loadConfig } from "../../config";
import type { AppEnv } from "../../deps";
import { operatorFromEnv, requireOperator } from "../../security/auth";

const PROBE_TIMEOUT_MS = 2_000;
/** How long a probe result is reused. */
const HEALTH_CACHE_MS = 5_000;

interface Probe {
  configured: boolean;
  reachable: boolean | null;
  latency_ms?: number;
  detail?: string;
}

/** Reachable = it answered with anything but a 5xx (an auth failure is reported as a detail). */
async function probe(url: string, init: RequestInit): Promise<Probe> {
  const started = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    const detail = res.status === 401 || res.status === 403 ? "credentials refused" : undefined;
    return {
      configured: true,
      reachable: res.status < 500 && !detail,
      latency_ms: Date.now() - started,
      detail,
    };
  } catch (err) {
    return { configured: true, reachable: false, detail: err instanceof Error ? err.name : "unreachable" };
  }
}

const notConfigured: Probe = { configured: false, reachable: null };

async function probeServices({ redis, qstash, openai }: Config) {
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const [r, q, o] = await Promise.all([
    redis
      ? probe(redis.url, { method: "POST", headers: auth(redis.token), body: '["PING"]' })
      : notConfigured,
    qstash ? probe(`${qstash.url}/v2/keys`, { headers: auth(qstash.token) }) : notConfigured,
    openai ? probe(`${openai.baseURL}/models`, { headers: auth(openai.apiKey) }) : notConfigured,
  ]);
  return { redis: r, qstash: q, openai: o };
}

const probes = new WeakMap<Config, { at: number; result: ReturnType<typeof probeServices> }>();

/** The services' probes, from the isolate's cache when younger than HEALTH_CACHE_MS. */
function cachedProbes(config: Config, now: number) {
  const cached = probes.get(config);
  if (cached && now - cached.at < HEALTH_CACHE_MS) return cached.result;
  const result = probeServices(config);
  probes.set(config, { at: now, result });
  return result;
}

/** Anyone: the liveness answer; with an Authorization header, on to the operator's details. */
const liveness = createMiddleware<AppEnv>(async (c, next) => {
  const result = loadConfig(c.env);
  const authorization = c.req.header("authorization");
  if (!result.ok) {
    // Which variables are wrong is for the operator (its key is read from the raw env then).
    const detailed = authorization !== undefined && (await operatorFromEnv(c.env, authorization));
    return c.json({ status: "misconfigured", ...(detailed ? { problems: result.problems } : {}) }, 503);
  }
  if (authorization === undefined) return c.json({ status: "ok" });
  await next();
});

export const health = new Hono<AppEnv>().get("/health", liveness, requireOperator, async (c) => {
  const { config } = c.var.deps;
  const services = await cachedProbes(config, Date.now());
  const healthy = Object.values(services).every((s) => s.configured && s.reachable);
  // The strategy in force (`auto` resolved), so a deployment can see whether OpenAI webhooks drive it.
  const body = {
    status: healthy ? "ok" : "degraded",
    env: config.env,
    drive_strategy: config.drive.strategy,
  };
  return c.json({ ...body, services }, healthy ? 200 : 503);
});
