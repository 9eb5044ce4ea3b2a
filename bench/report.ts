/** Tables (console and markdown), ratios against the baseline, and the targets. */
import type { Figures } from "./figures.ts";
import { HOPS, type Network } from "./network.ts";

export const TARGETS = {
  callbackP50Ms: 150,
  callbackP99Ms: 1000,
  upstreamVsBaseline: 1 / 5,
  qstashPerShortRun: 3,
  intakeP99Ms: 50,
  cpuP50Ms: 5,
  cpuP99Ms: 10,
} as const;

/** Other processes using more than this many cores during a scenario make its timings unreliable. */
export const NOISY_CORES = 0.5;

const f = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined || !Number.isFinite(n) ? "—" : n.toFixed(digits);
const pair = (a: number | null, b: number | null, digits = 1) => `${f(a, digits)} / ${f(b, digits)}`;

const HEAD = [
  "config",
  "scenario",
  "runs",
  "in flight",
  "intake p50 / p99 ms",
  "intake /s",
  "callback p50 / p99 ms",
  "lost",
  "upstream /run",
  "QStash /run",
  "Redis trips /run",
  "Redis cmds /run",
  "invocations /run",
  "CPU /inv p50 / p99 ms",
  "CPU /inv max ms",
  "subreq /inv p50 / max",
  "CPU /inv mean ms",
  "CPU /run ms",
  "others' load",
];

function row(x: Figures): string[] {
  return [
    x.config,
    x.scenario,
    String(x.runs),
    String(x.max_in_flight),
    pair(x.intake.p50_ms, x.intake.p99_ms),
    f(x.intake.throughput_rps, 0),
    pair(x.callback.p50_ms, x.callback.p99_ms, 0),
    String(x.callback.lost),
    f(x.per_run.upstream),
    f(x.per_run.qstash),
    f(x.per_run.redis_round_trips),
    f(x.per_run.redis_commands),
    f(x.per_run.invocations),
    pair(x.cpu.p50_ms, x.cpu.p99_ms, 2),
    f(x.cpu.max_ms, 2),
    pair(x.subrequests?.p50 ?? null, x.subrequests?.max ?? null, 0),
    f(x.cpu.mean_ms, 2),
    f(x.cpu.per_run_ms, 2),
    `${f(x.load.others, 2)}${(x.load.others ?? 0) > NOISY_CORES ? " (noisy)" : ""}`,
  ];
}

export function markdownTable(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

export function textTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export const figuresTable = (all: Figures[], render = markdownTable) => render(HEAD, all.map(row));

const RATIO_HEAD = ["scenario", "intake p99", "callback p50", "callback p99", "upstream /run", "CPU /run"];

/** threadhook ÷ baseline per scenario, for one strategy. */
export function ratioRows(all: Figures[], strategy: string): string[][] {
  const base = new Map(all.filter((x) => x.config === "baseline").map((x) => [x.scenario, x]));
  const r = (a: number | null, b: number | null | undefined) =>
    a === null || b === null || b === undefined || b === 0 ? "—" : `${(a / b).toFixed(2)}×`;
  return all
    .filter((x) => x.config === strategy && base.has(x.scenario))
    .map((x) => {
      const b = base.get(x.scenario) as Figures;
      return [
        x.scenario,
        r(x.intake.p99_ms, b.intake.p99_ms),
        r(x.callback.p50_ms, b.callback.p50_ms),
        r(x.callback.p99_ms, b.callback.p99_ms),
        r(x.per_run.upstream, b.per_run.upstream),
        r(x.cpu.per_run_ms, b.cpu.per_run_ms),
      ];
    });
}

export const ratioTable = (all: Figures[], strategy: string, render = markdownTable) =>
  render(RATIO_HEAD, ratioRows(all, strategy));

export interface TargetCheck {
  target: string;
  ok: boolean | null;
  detail: string;
}

/** Workers Free: CPU per invocation above the runtime's floor, and subrequests per invocation. */
export const FREE_PLAN = { cpuAboveFloorMs: 10, subrequests: 50 } as const;
/** QStash Free: messages a day. */
const QSTASH_FREE_PER_DAY = 1_000;

/**
 * The acceptance targets of the production-shaped bench (issue 15), on one strategy: per
 * invocation within Workers Free (CPU above the floor, subrequests), the callback within one QStash
 * hop and one Redis round trip of the model's end, few messages and requests per short run, CPU
 * per run against the baseline, and no growth of the per-run counts in the burst.
 */
export function acceptanceTargets(
  all: Figures[],
  strategy: string,
  floorMs: number | null,
  network: Network,
  perSubrequestMs: number | null = null,
): TargetCheck[] {
  const c1 = all.filter((x) => x.config === strategy && x.kind === "c1");
  const base = new Map(all.filter((x) => x.config === "baseline").map((x) => [x.scenario, x]));
  const short = c1.filter((x) => x.length_s < 20);
  const hop = HOPS.qstashDelivery.median_ms + HOPS.redis.median_ms;
  const rest = all.find((x) => x.config === strategy && x.scenario === "c1-1s");
  const burst = all.find((x) => x.config === strategy && x.kind === "burst");
  const growth = (pick: (x: Figures) => number) =>
    rest && burst && pick(rest) > 0 ? pick(burst) / pick(rest) : null;
  const cpuVsBase = (x: Figures) => {
    const b = base.get(x.scenario)?.cpu.per_run_ms;
    return b && x.cpu.per_run_ms !== null ? x.cpu.per_run_ms / b : null;
  };
  return [
    worstOf(
      `CPU /invocation − floor ≤ ${FREE_PLAN.cpuAboveFloorMs} ms (c1, max; floor ${f(floorMs, 2)} ms)`,
      c1,
      (x) => (x.cpu.max_ms === null || floorMs === null ? null : x.cpu.max_ms - floorMs),
      FREE_PLAN.cpuAboveFloorMs,
    ),
    worstOf(
      `CPU /invocation − a bare Worker's with as many subrequests ≤ ${FREE_PLAN.cpuAboveFloorMs} ms (c1, max; ${f(perSubrequestMs, 2)} ms per subrequest)`,
      c1,
      (x) => x.cpu.max_above_bare_ms,
      FREE_PLAN.cpuAboveFloorMs,
    ),
    worstOf(
      `subrequests /invocation ≤ ${FREE_PLAN.subrequests} (c1, max)`,
      c1,
      (x) => x.subrequests?.max ?? null,
      FREE_PLAN.subrequests,
    ),
    network === "production"
      ? worstOf(
          `callback p50 ≤ one QStash hop + one Redis trip (${hop} ms; c1)`,
          c1,
          (x) => x.callback.p50_ms,
          hop,
        )
      : {
          target: "callback p50 ≤ one QStash hop + one Redis trip",
          ok: null,
          detail: "production network only",
        },
    worstOf("QStash messages /run ≤ 3, runs under 20 s (c1)", short, (x) => x.per_run.qstash, 3),
    worstOf("upstream requests /run ≤ 2, runs under 20 s (c1)", short, (x) => x.per_run.upstream, 2),
    worstOf(
      "CPU /run ≤ the baseline's, runs of 5 s and more (c1)",
      c1.filter((x) => x.length_s >= 5),
      cpuVsBase,
      1,
    ),
    worstOf(
      "CPU /run ≤ 2× the baseline's, 1 s runs (c1)",
      c1.filter((x) => x.length_s < 5),
      cpuVsBase,
      2,
    ),
    ...(["upstream", "qstash", "invocations"] as const).map((k) => {
      const g = growth((x) => x.per_run[k]);
      return {
        target: `burst: ${k} /run as at rest (burst ÷ c1-1s ≤ 1)`,
        ok: g === null ? null : g <= 1.0001,
        detail: g === null ? "no data" : `${f(g, 2)}×`,
      } satisfies TargetCheck;
    }),
    worstOf("no accepted run lost in the burst", burst ? [burst] : [], (x) => x.callback.lost, 0),
  ];
}

/** Which plans each strategy fits, from its c1 figures (per invocation) and its 20 s run's messages. */
export function planRows(all: Figures[], floors: Record<string, number | null>): string[][] {
  const strategies = [...new Set(all.map((x) => x.config))].filter((c) => c !== "baseline");
  return strategies.map((s) => {
    const c1 = all.filter((x) => x.config === s && x.kind === "c1");
    const floor = floors[s] ?? null;
    const cpu = Math.max(...c1.map((x) => (x.cpu.max_ms ?? 0) - (floor ?? 0)));
    const sub = Math.max(...c1.map((x) => x.subrequests?.max ?? 0));
    const free = cpu <= FREE_PLAN.cpuAboveFloorMs && sub <= FREE_PLAN.subrequests;
    const twenty = all.find((x) => x.config === s && x.scenario === "c1-20s") ?? c1.at(-1);
    const msgs = twenty?.per_run.qstash ?? null;
    return [
      s,
      `${f(cpu, 1)} ms / ${sub}`,
      free ? "yes" : "no",
      "yes",
      msgs === null ? "—" : f(msgs, 1),
      msgs ? String(Math.floor(QSTASH_FREE_PER_DAY / msgs)) : "—",
      s === "call" ? "runs ≤ 15 min (Free), ≤ 2 h (PAYG)" : "any",
    ];
  });
}

export const planTable = (all: Figures[], floors: Record<string, number | null>, render = markdownTable) =>
  render(
    [
      "strategy",
      "worst CPU − floor / subrequests per invocation (c1)",
      "Workers Free",
      "Workers Paid",
      "QStash msgs per 20 s run",
      "20 s runs/day on QStash Free",
      "QStash call length",
    ],
    planRows(all, floors),
  );

/** The targets, checked on one strategy's figures (and the baseline's, for upstream calls). */
export function checkTargets(all: Figures[], strategy: string): TargetCheck[] {
  // The run-length targets are about the c1 and c50 scenarios; the burst's target is losing nothing.
  const mine = all.filter((x) => x.config === strategy && x.kind !== "burst");
  const burst = all.filter((x) => x.config === strategy && x.kind === "burst");
  const base = new Map(all.filter((x) => x.config === "baseline").map((x) => [x.scenario, x]));
  const upstream = mine
    .filter((x) => x.length_s === 20 && base.has(x.scenario))
    .map((x) => {
      const limit = (base.get(x.scenario)?.per_run.upstream ?? 0) * TARGETS.upstreamVsBaseline;
      return worstOf(`upstream /run ≤ baseline's ÷ 5 (${x.scenario})`, [x], (y) => y.per_run.upstream, limit);
    });
  return [
    worstOf("callback p50 ≤ 150 ms (c1, c50)", mine, (x) => x.callback.p50_ms, TARGETS.callbackP50Ms),
    worstOf("callback p99 ≤ 1 s (c1, c50)", mine, (x) => x.callback.p99_ms, TARGETS.callbackP99Ms),
    ...upstream,
    worstOf(
      "QStash messages /run ≤ 3, runs under 20 s",
      mine.filter((x) => x.length_s < 20),
      (x) => x.per_run.qstash,
      TARGETS.qstashPerShortRun,
    ),
    worstOf(
      "intake p99 ≤ 50 ms at concurrency 50",
      mine.filter((x) => x.kind === "concurrent"),
      (x) => x.intake.p99_ms,
      TARGETS.intakeP99Ms,
    ),
    worstOf("no accepted run lost in the burst", burst, (x) => x.callback.lost, 0),
    worstOf("CPU /invocation p50 ≤ 5 ms (c1)", mine, (x) => x.cpu.p50_ms, TARGETS.cpuP50Ms),
    worstOf("CPU /invocation p99 ≤ 10 ms (c1)", mine, (x) => x.cpu.p99_ms, TARGETS.cpuP99Ms),
  ];
}

/** The worst value over the scenarios against the limit, naming the scenario it came from. */
function worstOf(target: string, xs: Figures[], pick: (x: Figures) => number | null, limit: number) {
  let worst: { value: number; scenario: string } | null = null;
  for (const x of xs) {
    const v = pick(x);
    if (v !== null && (worst === null || v > worst.value)) worst = { value: v, scenario: x.scenario };
  }
  const detail = worst ? `${f(worst.value, 2)} (limit ${f(limit, 2)}; worst: ${worst.scenario})` : "no data";
  return { target, ok: worst ? worst.value <= limit : null, detail } satisfies TargetCheck;
}

export const targetsTable = (checks: TargetCheck[], render = markdownTable) =>
  render(
    ["target", "met", "value"],
    checks.map((c) => [c.target, c.ok === null ? "n/a" : c.ok ? "yes" : "NO", c.detail.trim()]),
  );
