/**
 * What `npm run deploy:check` finds, item by item: each finding names the variables it is about and
 * never prints a secret's value. `staticFindings` and `planFindings` read the parsed config only;
 * `probeFindings` asks each service once whether it takes the credentials.
 */
import type { Config } from "../src/config.ts";

export type Finding = { level: "ok" | "warn" | "error"; item: string; text: string };
type Env = Record<string, string>;
export type Plans = { workers: "free" | "paid"; qstash: "free" | "payg" };

const ok = (item: string, text: string): Finding => ({ level: "ok", item, text });
const warn = (item: string, text: string): Finding => ({ level: "warn", item, text });
const error = (item: string, text: string): Finding => ({ level: "error", item, text });

/** QStash's regional endpoints (Upstash's multi-region docs). */
export const QSTASH_REGIONS: Record<string, string> = {
  "https://qstash.upstash.io": "EU (eu-central-1, the default)",
  "https://qstash-eu-central-1.upstash.io": "EU (eu-central-1)",
  "https://qstash-us-east-1.upstash.io": "US (us-east-1)",
};
/** QStash's longest call (maximum HTTP response duration) per plan, seconds. */
const QSTASH_MAX_CALL_S = { free: 900, payg: 7_200 } as const;
const QSTASH_FREE_MESSAGES_PER_DAY = 1_000;
const WORKERS_FREE_REQUESTS_PER_DAY = 100_000;
const MIN_KEY_CHARS = 32;
const MIN_SECRET_BYTES = 24;

const whsecBytes = (v: string) => Buffer.from(v.replace(/^whsec_/, ""), "base64").length;

export function staticFindings(env: Env, config: Config): Finding[] {
  const out: Finding[] = [];
  if (config.devMode)
    out.push(
      error(
        "mode",
        "THREADHOOK_ENV=development allows http and loopback callbacks: deploy with production (the default)",
      ),
    );
  out.push(...publicUrl(env.PUBLIC_URL));
  if (!env.API_KEY && !env.OPERATOR_KEY)
    out.push(error("keys", "neither API_KEY nor OPERATOR_KEY is set: nobody could use the API"));
  if (env.API_KEY && env.API_KEY.length < MIN_KEY_CHARS)
    out.push(
      error(
        "keys",
        `API_KEY has ${env.API_KEY.length} characters; use at least ${MIN_KEY_CHARS} (openssl rand -base64 32)`,
      ),
    );
  if (env.OPERATOR_KEY && env.OPERATOR_KEY.length < MIN_KEY_CHARS)
    out.push(
      warn(
        "keys",
        `OPERATOR_KEY has ${env.OPERATOR_KEY.length} characters; ${MIN_KEY_CHARS} or more is better`,
      ),
    );
  if (!env.WEBHOOK_SECRET)
    out.push(
      warn(
        "secrets",
        "WEBHOOK_SECRET is not set: tenant default's callbacks need a rotated secret first (npm run admin -- secrets rotate default)",
      ),
    );
  for (const name of ["WEBHOOK_SECRET", "OPENAI_WEBHOOK_SECRET"]) {
    const v = env[name];
    if (v && whsecBytes(v) < MIN_SECRET_BYTES)
      out.push(
        error(
          "secrets",
          `${name} holds ${whsecBytes(v)} random bytes; use ${MIN_SECRET_BYTES} or more (printf 'whsec_%s' "$(openssl rand -base64 32)")`,
        ),
      );
  }
  if (!config.redis)
    out.push(error("redis", "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are not set"));
  else if (config.redis.url.startsWith("http:"))
    out.push(warn("redis", "UPSTASH_REDIS_REST_URL is http: Upstash serves its REST API on https"));
  if (!config.qstash)
    out.push(
      error("qstash", "QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY are not set"),
    );
  else {
    const region = QSTASH_REGIONS[config.qstash.url];
    out.push(
      region
        ? ok(
            "qstash",
            `QSTASH_URL is the ${region} endpoint: QSTASH_TOKEN and both signing keys must come from that region`,
          )
        : warn(
            "qstash",
            `QSTASH_URL=${config.qstash.url} is not one of QStash's region endpoints (${Object.keys(QSTASH_REGIONS).join(", ")})`,
          ),
    );
    for (const name of ["QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"] as const)
      if (!env[name]?.startsWith("sig_"))
        out.push(warn("qstash", `${name} does not look like a QStash signing key (sig_…)`));
  }
  if (!config.openai) out.push(error("openai", "OPENAI_API_KEY is not set"));
  else if (!env.OPENAI_API_KEY?.startsWith("sk-"))
    out.push(warn("openai", "OPENAI_API_KEY does not look like an OpenAI key (sk-…)"));
  return out;
}

function publicUrl(value: string | undefined): Finding[] {
  if (!value)
    return [
      error(
        "PUBLIC_URL",
        "PUBLIC_URL is not set: set it to the Worker's https URL (https://threadhook.<subdomain>.workers.dev or your domain) before the first run; QStash's deliveries are verified against it",
      ),
    ];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [error("PUBLIC_URL", "PUBLIC_URL is not a URL")];
  }
  const out: Finding[] = [];
  if (url.protocol !== "https:") out.push(error("PUBLIC_URL", "PUBLIC_URL must be https"));
  if (url.pathname !== "/" || url.search || url.hash)
    out.push(
      error(
        "PUBLIC_URL",
        "PUBLIC_URL must be the origin only (no path, query or fragment): steps go to PUBLIC_URL/internal/steps/…",
      ),
    );
  if (
    /[<>]/.test(value) ||
    url.hostname === "localhost" ||
    /^[\d.]+$/.test(url.hostname) ||
    url.hostname.startsWith("[")
  )
    out.push(error("PUBLIC_URL", `PUBLIC_URL host ${url.hostname} is not a public name QStash can reach`));
  if (out.length === 0)
    out.push(
      ok(
        "PUBLIC_URL",
        `PUBLIC_URL=${url.origin}; changing it later strands the steps already published (docs/deploy.md)`,
      ),
    );
  return out;
}

/** Messages per run of 20 s without tools, per strategy (docs/performance.md), for the quota line. */
const MESSAGES_PER_RUN: Record<string, number> = {
  call: 3,
  webhook: 3,
  poll: 11,
  stream: 1,
  "budget-poll": 1,
};
const INVOCATIONS_PER_RUN: Record<string, number> = {
  call: 3,
  webhook: 5,
  poll: 12,
  stream: 2,
  "budget-poll": 2,
};

export function planFindings(env: Env, config: Config, plans: Plans): Finding[] {
  const out: Finding[] = [];
  const strategy = config.drive.strategy;
  const requested = env.DRIVE_STRATEGY ?? "auto";
  out.push(
    ok(
      "strategy",
      `DRIVE_STRATEGY=${requested} → ${strategy} on Workers ${plans.workers}, QStash ${plans.qstash}`,
    ),
  );
  if (plans.workers === "free" && (strategy === "stream" || strategy === "budget-poll"))
    out.push(
      error(
        "strategy",
        `${strategy} does not fit Workers Free: its steps read the model's stream or poll inside one invocation (17–93 ms of CPU, more than 50 subrequests) against Free's 10 ms and 50; use auto (call or webhook) or poll, or --workers-plan=paid`,
      ),
    );
  const maxCall = QSTASH_MAX_CALL_S[plans.qstash];
  if (config.drive.callMaxS > maxCall)
    out.push(
      error(
        "strategy",
        `QSTASH_CALL_MAX_S=${config.drive.callMaxS} is longer than QStash ${plans.qstash} holds a call (${maxCall} s): calls would be cut`,
      ),
    );
  if (strategy === "call") {
    const base = config.openai?.baseURL ?? "";
    if (!base.startsWith("https:"))
      out.push(
        error("strategy", "call needs QStash to reach OPENAI_BASE_URL: it must be a public https URL"),
      );
    if (config.runTimeoutS + 2 > config.drive.callMaxS)
      out.push(
        warn(
          "strategy",
          `RUN_TIMEOUT_S=${config.runTimeoutS} is longer than QStash holds a call (QSTASH_CALL_MAX_S=${config.drive.callMaxS}): such runs are polled`,
        ),
      );
  }
  if (requested === "auto" && strategy === "poll")
    out.push(
      warn(
        "strategy",
        "auto fell back to poll: QStash cannot reach OPENAI_BASE_URL, or RUN_TIMEOUT_S is longer than QSTASH_CALL_MAX_S; set OPENAI_WEBHOOK_SECRET (webhook) or fix those for call",
      ),
    );
  const messages = MESSAGES_PER_RUN[strategy] ?? 3;
  if (plans.qstash === "free")
    out.push(
      warn(
        "quota",
        `QStash Free accepts ${QSTASH_FREE_MESSAGES_PER_DAY} messages a day: ${strategy} spends about ${messages} per 20 s run, so about ${Math.floor(QSTASH_FREE_MESSAGES_PER_DAY / messages)} runs a day; past it, new runs get 503 until midnight UTC`,
      ),
    );
  if (plans.workers === "free") {
    const invocations = INVOCATIONS_PER_RUN[strategy] ?? 3;
    out.push(
      ok(
        "quota",
        `Workers Free serves ${WORKERS_FREE_REQUESTS_PER_DAY} requests a day: about ${Math.floor(WORKERS_FREE_REQUESTS_PER_DAY / invocations)} runs of ${invocations} invocations`,
      ),
    );
  }
  return out;
}

const PROBE_TIMEOUT_MS = 5_000;

async function probe(
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: string } | { failed: string }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { failed: err instanceof Error ? err.message : String(err) };
  }
}

export async function probeFindings(config: Config): Promise<Finding[]> {
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const [redis, qstash, openai] = await Promise.all([
    config.redis
      ? probe(config.redis.url, { method: "POST", headers: auth(config.redis.token), body: '["PING"]' })
      : null,
    config.qstash ? probe(`${config.qstash.url}/v2/keys`, { headers: auth(config.qstash.token) }) : null,
    config.openai ? probe(`${config.openai.baseURL}/models`, { headers: auth(config.openai.apiKey) }) : null,
  ]);
  const out: Finding[] = [];
  if (redis) out.push(answered("redis", redis, "UPSTASH_REDIS_REST_TOKEN", "UPSTASH_REDIS_REST_URL"));
  if (openai) out.push(answered("openai", openai, "OPENAI_API_KEY", "OPENAI_BASE_URL"));
  if (qstash && config.qstash) out.push(...qstashKeys(qstash, config.qstash));
  return out;
}

function answered(
  item: string,
  r: { status: number } | { failed: string },
  token: string,
  url: string,
): Finding {
  if ("failed" in r) return error(item, `${url} did not answer: ${r.failed}`);
  if (r.status === 401 || r.status === 403) return error(item, `${token} is refused by ${url} (${r.status})`);
  if (r.status >= 500) return error(item, `${url} answered ${r.status}`);
  return ok(item, `${url} takes ${token}`);
}

function qstashKeys(
  r: { status: number; body: string } | { failed: string },
  q: NonNullable<Config["qstash"]>,
): Finding[] {
  if ("failed" in r) return [error("qstash", `QSTASH_URL did not answer: ${r.failed}`)];
  if (r.status === 401 || r.status === 403) {
    const region = QSTASH_REGIONS[q.url] ?? q.url;
    return [
      error(
        "qstash",
        `QSTASH_TOKEN is refused by QSTASH_URL (${region}). Each QStash region has its own token and signing keys: a US-region token needs QSTASH_URL=https://qstash-us-east-1.upstash.io, an EU one https://qstash.upstash.io`,
      ),
    ];
  }
  if (r.status !== 200) return [error("qstash", `QSTASH_URL answered ${r.status} for its signing keys`)];
  let keys: { current?: string; next?: string } = {};
  try {
    keys = JSON.parse(r.body) as typeof keys;
  } catch {}
  const remote = new Set([keys.current, keys.next]);
  const out = [ok("qstash", "QSTASH_URL takes QSTASH_TOKEN")];
  const wrong = (
    [
      ["QSTASH_CURRENT_SIGNING_KEY", q.currentSigningKey],
      ["QSTASH_NEXT_SIGNING_KEY", q.nextSigningKey],
    ] as const
  ).filter(([, v]) => !remote.has(v));
  for (const [name] of wrong)
    out.push(
      error(
        "qstash",
        `${name} is not a signing key of this QStash account and region: deliveries would be refused (401); copy both keys from the console again`,
      ),
    );
  if (wrong.length === 0) out.push(ok("qstash", "both signing keys match the account's"));
  return out;
}
