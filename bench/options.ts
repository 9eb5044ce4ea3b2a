/** Bench options: the scenario plan (full, --quick, --smoke) and command-line overrides. */
import { DEFAULT_SEED, type Network } from "./network.ts";

export const STRATEGIES = ["call", "poll", "budget-poll", "stream", "webhook"] as const;
export type Strategy = (typeof STRATEGIES)[number];
export type Config = Strategy | "baseline";

export interface Plan {
  mode: "full" | "quick" | "smoke";
  /** Model time is multiplied by this: run lengths, QStash delays, DRIVE_BUDGET_MS, baseline interval. */
  scale: number;
  configs: Config[];
  /** Run lengths in seconds, before scaling. */
  lengthsS: number[];
  /** Sequential runs per length at concurrency 1. */
  c1Runs: (lengthS: number) => number;
  /** Runs in flight in the concurrent scenarios: arrivals at concurrency ÷ run length per second… */
  concurrency: number;
  /** …but never faster than this (time-scaled runs would otherwise raise the rate ×1/scale). */
  maxRatePerS: number;
  /** Runs per concurrent scenario. */
  concurrentRuns: (lengthS: number) => number;
  /** Simultaneous intake requests in the burst (0: no burst), with runs of `burstLengthS`. */
  burst: number;
  burstLengthS: number;
  /** Runs before measuring, to warm the isolate (JIT, script cache). */
  warmupRuns: number;
  /** The simulated answer: characters and streamed deltas (≈ one per token, as real models). */
  replyChars: number;
  chunks: number;
  /** DRIVE_BUDGET_MS for the Worker before scaling; null = the Worker's default. */
  budgetMs: number | null;
  /** Interval of the baseline's polling loop (before scaling). */
  baselineIntervalMs: number;
  /** Which scenario kinds to run. */
  kinds: string[];
  /** The burst for every configuration (else only the baseline and the default strategy). */
  burstAll: boolean;
  outDir: string;
  /** Write the result table into docs/performance.md (`--update-docs`; `--update-readme` is its old name). */
  updateDocs: boolean;
  /** `production`: the hops are delayed as bench/network.ts models them (`--network=production`). */
  network: Network;
  /** Seed of the production network's delays (`--seed`; the same seed, the same draws). */
  seed: number;
}

const FULL: Omit<
  Plan,
  "configs" | "outDir" | "budgetMs" | "updateDocs" | "kinds" | "burstAll" | "network" | "seed"
> = {
  mode: "full",
  scale: 1,
  lengthsS: [1, 5, 20, 60],
  c1Runs: (l) => (l <= 1 ? 10 : l <= 5 ? 4 : l <= 20 ? 2 : 1),
  concurrency: 50,
  maxRatePerS: 50,
  concurrentRuns: (l) => (l <= 20 ? 100 : 60),
  burst: 500,
  burstLengthS: 1,
  warmupRuns: 3,
  replyChars: 1000,
  chunks: 250,
  baselineIntervalMs: 1200,
};

const QUICK: typeof FULL = {
  ...FULL,
  mode: "quick",
  scale: 0.1,
  c1Runs: (l) => (l <= 1 ? 5 : l <= 5 ? 3 : l <= 20 ? 2 : 1),
  concurrentRuns: (l) => (l <= 5 ? 100 : l <= 20 ? 60 : 50),
};

const SMOKE: typeof FULL = {
  ...FULL,
  mode: "smoke",
  scale: 0.05,
  lengthsS: [1],
  c1Runs: () => 2,
  concurrency: 5,
  concurrentRuns: () => 10,
  burst: 10,
  warmupRuns: 1,
  chunks: 20,
};

const USAGE = `usage: npm run bench -- [--quick | --smoke] [--configs=baseline,stream,…] [--lengths=1,5]
  [--kinds=c1,concurrent,burst] [--budget-ms=N] [--burst=N] [--chunks=N] [--out=DIR] [--update-docs]
  [--network=local|production] [--seed=N]
  --quick   model time ×0.1 and fewer runs (a few minutes); --smoke: seconds, for the test
  --network=production  delay every hop as bench/network.ts models it (docs/performance.md)
  --seed=N  the network model's seed (default ${DEFAULT_SEED}): rounds with other seeds draw other delays
  --configs baseline and the drive strategies: ${STRATEGIES.join(", ")} (default: all)
  --update-docs  put the result table into docs/performance.md`;

export function parseArgs(argv: string[]): Plan {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    flags.set(m[1] as string, m[2] ?? "true");
  }
  const known = [
    "quick",
    "smoke",
    "configs",
    "lengths",
    "kinds",
    "budget-ms",
    "burst",
    "chunks",
    "out",
    "update-docs",
    "update-readme",
    "network",
    "seed",
    "help",
  ];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k}\n${USAGE}`);
  if (flags.has("help")) throw new Error(USAGE);
  const base = flags.has("smoke") ? SMOKE : flags.has("quick") ? QUICK : FULL;
  const configs = (flags.get("configs")?.split(",") ?? ["baseline", ...STRATEGIES]) as Config[];
  for (const c of configs)
    if (c !== "baseline" && !STRATEGIES.includes(c as Strategy)) throw new Error(`unknown config ${c}`);
  const lengths = flags.get("lengths")?.split(",").map(Number);
  const budget = flags.get("budget-ms");
  const network = flags.get("network") ?? "local";
  if (network !== "local" && network !== "production")
    throw new Error(`unknown network ${network}\n${USAGE}`);
  const seed = Number(flags.get("seed") ?? DEFAULT_SEED);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer\n${USAGE}`);
  return {
    ...base,
    configs,
    lengthsS: lengths ?? base.lengthsS,
    burst: flags.has("burst") ? Number(flags.get("burst")) : base.burst,
    chunks: flags.has("chunks") ? Number(flags.get("chunks")) : base.chunks,
    budgetMs: budget ? Number(budget) : null,
    outDir: flags.get("out") ?? new URL("./results", import.meta.url).pathname,
    updateDocs: flags.has("update-docs") || flags.has("update-readme"),
    kinds: flags.get("kinds")?.split(",") ?? ["c1", "concurrent", "burst"],
    burstAll: base.mode === "full" || flags.has("kinds"),
    network,
    seed,
  };
}

export const scaledMs = (plan: Plan, ms: number) => Math.round(ms * plan.scale);
