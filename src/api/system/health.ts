import { Hono } from "hono";
import type { AppEnv } from "../../deps";
import { loadConfig } from "../../config";

const PROBE_TIMEOUT_MS = 2_000;

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

export const health = new Hono<AppEnv>().get("/health", async (c) => {
  const result = loadConfig(c.env);
  if (!result.ok) return c.json({ status: "misconfigured", problems: result.problems }, 503);
  const { redis, qstash, openai, env } = result.config;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const [r, q, o] = await Promise.all([
    redis
      ? probe(redis.url, { method: "POST", headers: auth(redis.token), body: '["PING"]' })
      : notConfigured,
    qstash ? probe(`${qstash.url}/v2/keys`, { headers: auth(qstash.token) }) : notConfigured,
    openai ? probe(`${openai.baseURL}/models`, { headers: auth(openai.apiKey) }) : notConfigured,
  ]);
  const services = { redis: r, qstash: q, openai: o };
  const healthy = Object.values(services).every((s) => s.configured && s.reachable);
  // The strategy in force (`auto` resolved), so a deployment can see whether OpenAI webhooks drive it.
  const drive_strategy = result.config.drive.strategy;
  return c.json({ status: healthy ? "ok" : "degraded", env, drive_strategy, services }, healthy ? 200 : 503);
});
