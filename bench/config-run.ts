/** One configuration (the baseline or a drive strategy): its own stack, warm-up, then every scenario. */
import { randomBytes } from "node:crypto";
import { startBaseline } from "./baseline.ts";
import { runScenario, type Scenario, type Target, type Workload } from "./driver.ts";
import { type BareCost, computeFigures, type Figures, percentile } from "./figures.ts";
import { type Config, type Plan, scaledMs } from "./options.ts";
import { type StackChild, startChild } from "./stack-client.ts";
import { baselineTarget, threadhookTarget } from "./targets.ts";

/** Requests to an unknown route, measured alone: the runtime's floor under every invocation. */
const FLOOR_SAMPLES = 20;

export interface ConfigResult {
  config: Config;
  figures: Figures[];
  /** CPU ms of a request that only routes to a 404 (runtime + dev entry worker + Hono). */
  floor_cpu_ms: number | null;
}

export function scenarios(plan: Plan, withBurst: boolean): Scenario[] {
  const list: Scenario[] = [];
  for (const l of plan.lengthsS)
    list.push({ name: `c1-${l}s`, kind: "c1", lengthS: l, concurrency: 1, runs: plan.c1Runs(l) });
  for (const l of plan.lengthsS) {
    const { concurrency } = plan;
    const ratePerS = Math.min(plan.maxRatePerS, concurrency / (l * plan.scale));
    const runs = plan.concurrentRuns(l);
    list.push({ name: `c${concurrency}-${l}s`, kind: "concurrent", lengthS: l, concurrency, runs, ratePerS });
  }
  if (withBurst && plan.burst > 0) {
    const n = plan.burst;
    list.push({ name: `burst-${n}`, kind: "burst", lengthS: plan.burstLengthS, concurrency: n, runs: n });
  }
  return list.filter((s) => plan.kinds.includes(s.kind));
}

/** Run lengths vary by up to this fraction either way, so no poll interval lines up with them. */
const LENGTH_SPREAD = 0.1;
const GOLDEN = 0.618_033_988_75;

export function workload(plan: Plan, lengthS: number): Workload {
  const sentence = "The quick brown fox jumps over the lazy dog. ";
  const reply = sentence.repeat(Math.ceil(plan.replyChars / sentence.length)).slice(0, plan.replyChars);
  // Deterministic per run index (the same runs every time), evenly spread over the range.
  const delayMs = (i: number) =>
    Math.round(lengthS * 1000 * (1 - LENGTH_SPREAD + 2 * LENGTH_SPREAD * ((i * GOLDEN) % 1)));
  return {
    input: (i) =>
      `bench message ${i} #sim ${JSON.stringify({ delay_ms: delayMs(i), reply, chunks: plan.chunks })}`,
    callbackTimeoutMs: (s) => scaledMs(plan, s.lengthS * 1000) + 30_000 + s.runs * 50,
    drainTimeoutMs: scaledMs(plan, 150_000) + 10_000,
  };
}

export async function runConfig(
  plan: Plan,
  config: Config,
  worker: { budgetMs: number },
  withBurst: boolean,
  progress: (line: string) => void,
  /** What the local runtime charges a bare Worker per subrequest (ms), measured before (run.ts). */
  perSubrequestMs: number | null = null,
): Promise<ConfigResult> {
  const isBaseline = config === "baseline";
  const child = await startChild({
    worker: !isBaseline,
    timeScale: plan.scale,
    workerVars: isBaseline
      ? {}
      : { DRIVE_STRATEGY: config, DRIVE_BUDGET_MS: String(scaledMs(plan, plan.budgetMs ?? worker.budgetMs)) },
    openaiWebhookSecret: config === "webhook" ? `whsec_${randomBytes(32).toString("base64")}` : null,
    network: plan.network,
    seed: plan.seed,
  });
  const baseline = isBaseline
    ? await startBaseline({
        baseURL: child.ready.openai.baseURL,
        apiKey: child.ready.openai.apiKey,
        inboxSecret: child.ready.inbox.secret,
        intervalMs: scaledMs(plan, plan.baselineIntervalMs),
      })
    : null;
  try {
    const target: Target = baseline ? baselineTarget(baseline.url) : await threadhookTarget(child);
    const floor = isBaseline ? null : await measureFloor(child, target);
    const bare: BareCost | null =
      floor !== null && perSubrequestMs !== null ? { floorMs: floor, perSubrequestMs } : null;
    const warm: Scenario = { name: "warmup", kind: "c1", lengthS: 1, concurrency: 1, runs: plan.warmupRuns };
    await runScenario(child, target, workload(plan, 1), warm, `/bench/${config}/warmup`);
    const figures: Figures[] = [];
    for (const s of scenarios(plan, withBurst)) {
      const raw = await runScenario(
        child,
        target,
        workload(plan, s.lengthS),
        s,
        `/bench/${config}/${s.name}`,
      );
      const fig = computeFigures(config, raw, s.lengthS, bare);
      figures.push(fig);
      progress(
        `${config} ${s.name}: ${fig.runs} runs, callback p50 ${fig.callback.p50_ms?.toFixed(0)} ms, lost ${fig.callback.lost}`,
      );
    }
    return { config, figures, floor_cpu_ms: floor };
  } finally {
    await baseline?.close();
    await child.stop();
  }
}

async function measureFloor(child: StackChild, target: Target): Promise<number | null> {
  await target.serialize(true);
  for (let i = 0; i < FLOOR_SAMPLES; i++)
    await (await fetch(`${child.ready.meter}/bench-floor`)).arrayBuffer();
  const inv = (await child.getJson(`${child.ready.meter}/__bench/invocations`)) as {
    cpu_ns: number | null;
  }[];
  await child.post(`${child.ready.meter}/__bench/reset`);
  const ms = inv
    .map((i) => i.cpu_ns)
    .filter((n): n is number => n !== null)
    .map((n) => n / 1e6);
  return percentile(ms, 50);
}
