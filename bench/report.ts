/** Tables (console and markdown), ratios against the baseline, and the targets. */
import type { Figures } from "./figures.ts";

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
