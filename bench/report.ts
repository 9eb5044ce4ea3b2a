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
  const mine = all.filter((x) => x.config === strategy);
  const base = all.filter((x) => x.config === "baseline");
  const worst = (xs: Figures[], pick: (x: Figures) => number | null) =>
    xs.map(pick).reduce<number | null>((m, v) => (v === null ? m : m === null ? v : Math.max(m, v)), null);
  const checks: TargetCheck[] = [];
  const add = (target: string, value: number | null, limit: number, where: string) =>
    checks.push({
      target,
      ok: value === null ? null : value <= limit,
      detail: `${f(value, 2)} (limit ${f(limit, 2)}) ${where}`,
    });
  add(
    "callback p50 ≤ 150 ms (worst scenario)",
    worst(mine, (x) => x.callback.p50_ms),
    TARGETS.callbackP50Ms,
    "",
  );
  add(
    "callback p99 ≤ 1 s (worst scenario)",
    worst(mine, (x) => x.callback.p99_ms),
    TARGETS.callbackP99Ms,
    "",
  );
  for (const x of mine.filter((m) => m.length_s === 20)) {
    const b = base.find((y) => y.scenario === x.scenario);
    if (b)
      add(
        `upstream /20 s run ≤ baseline ÷ 5 (${x.scenario})`,
        x.per_run.upstream,
        b.per_run.upstream / 5,
        "",
      );
  }
  const short = mine.filter((x) => x.length_s < 20);
  add(
    "QStash messages /run ≤ 3 for runs < 20 s",
    worst(short, (x) => x.per_run.qstash),
    TARGETS.qstashPerShortRun,
    "",
  );
  const c50 = mine.filter((x) => x.kind === "concurrent");
  add(
    "intake p99 ≤ 50 ms at concurrency 50",
    worst(c50, (x) => x.intake.p99_ms),
    TARGETS.intakeP99Ms,
    "",
  );
  const burst = mine.filter((x) => x.kind === "burst");
  add(
    "no accepted run lost in the burst",
    worst(burst, (x) => x.callback.lost),
    0,
    "lost",
  );
  add(
    "CPU /invocation p50 ≤ 5 ms (worst c1 scenario)",
    worst(mine, (x) => x.cpu.p50_ms),
    TARGETS.cpuP50Ms,
    "",
  );
  add(
    "CPU /invocation p99 ≤ 10 ms (worst c1 scenario)",
    worst(mine, (x) => x.cpu.p99_ms),
    TARGETS.cpuP99Ms,
    "",
  );
  return checks;
}

export const targetsTable = (checks: TargetCheck[], render = markdownTable) =>
  render(
    ["target", "met", "value"],
    checks.map((c) => [c.target, c.ok === null ? "n/a" : c.ok ? "yes" : "NO", c.detail.trim()]),
  );
