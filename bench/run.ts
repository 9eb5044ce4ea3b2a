/**
 * `npm run bench [-- --quick | --smoke | …]`: threadhook's drive strategies and the classic polling
 * baseline, side by side on the local stack. Prints the tables and writes
 * `bench/results/<time>-<mode>.json` and `.md` (and `latest-<mode>.*`). See bench/README.md.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ConfigResult, runConfig } from "./config-run.ts";
import type { Figures } from "./figures.ts";
import { DEFAULT_SEED, HOPS } from "./network.ts";
import { type Config, parseArgs, type Plan } from "./options.ts";
import {
  acceptanceTargets,
  checkTargets,
  figuresTable,
  NOISY_CORES,
  planTable,
  ratioTable,
  targetsTable,
  textTable,
} from "./report.ts";
import { type SubrequestCost, subrequestCost } from "./subrequest-cost.ts";
import { type WorkerDefaults, workerDefaults } from "./worker-defaults.ts";

async function main() {
  // Ctrl-C or a kill: exit through process.exit so the stack children are stopped ("exit" hooks).
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
  const plan = parseArgs(process.argv.slice(2));
  const worker = await workerDefaults();
  const started = Date.now();
  const log = (line: string) =>
    console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
  // The default (`auto`) is one strategy with OpenAI webhooks configured and another without.
  const defaults = [...new Set([worker.withWebhooks, worker.strategy])];
  log(
    `mode ${plan.mode} (model time ×${plan.scale}), network ${plan.network}; Worker default strategy: auto = ${worker.withWebhooks} with OpenAI webhooks, ${worker.strategy} without`,
  );
  // What the local runtime charges any Worker per subrequest, at the delay most of them see (Redis).
  const bare = plan.configs.some((c) => c !== "baseline")
    ? ((
        await subrequestCost(
          [plan.network === "production" ? HOPS.redis.median_ms : 0],
          plan.mode === "smoke" ? 3 : 9,
        )
      )[0] ?? null)
    : null;
  if (bare) log(`a bare Worker's subrequest costs the local runtime ${bare.per_subrequest_ms.toFixed(2)} ms`);
  const perSubrequestMs = bare?.per_subrequest_ms ?? null;
  const results: ConfigResult[] = [];
  for (const config of plan.configs) {
    log(`starting ${config}`);
    // Quick runs keep to the 5-minute limit: the burst only for the baseline and the default's strategies.
    const withBurst = plan.burstAll || config === "baseline" || defaults.includes(config);
    results.push(await runConfig(plan, config, worker, withBurst, log, perSubrequestMs));
  }
  const figures = results.flatMap((r) => r.figures);
  const floors = Object.fromEntries(results.map((r) => [r.config, r.floor_cpu_ms]));
  const report = {
    mode: plan.mode,
    network: plan.network,
    seed: plan.seed,
    scale: plan.scale,
    started_at: new Date(started).toISOString(),
    duration_s: (Date.now() - started) / 1000,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "?", load_avg: os.loadavg() },
    worker_default: worker,
    workload: { reply_chars: plan.replyChars, chunks: plan.chunks, lengths_s: plan.lengthsS },
    floor_cpu_ms: Object.fromEntries(results.map((r) => [r.config, r.floor_cpu_ms])),
    bare_worker: bare,
    targets: Object.fromEntries(
      defaults.filter((s) => plan.configs.includes(s as Config)).map((s) => [s, checkTargets(figures, s)]),
    ),
    acceptance: Object.fromEntries(
      defaults
        .filter((s) => plan.configs.includes(s as Config))
        .map((s) => [s, acceptanceTargets(figures, s, floors[s] ?? null, plan.network, perSubrequestMs)]),
    ),
    figures,
  };
  console.log(`\n${figuresTable(figures, textTable)}\n`);
  for (const [strategy, targets] of Object.entries(report.targets)) {
    if (plan.configs.includes("baseline"))
      console.log(`${strategy} ÷ baseline:\n${ratioTable(figures, strategy, textTable)}\n`);
    console.log(`targets (${strategy}):\n${targetsTable(targets, textTable)}\n`);
  }
  for (const [strategy, checks] of Object.entries(report.acceptance))
    console.log(`acceptance (${strategy}, ${plan.network} network):\n${targetsTable(checks, textTable)}\n`);
  console.log(`plans:\n${planTable(figures, floors, textTable)}\n`);
  if (bare) console.log(`${aboveBareLine(figures)}\n`);
  const md = markdown(plan, report, figures);
  const files = writeResults(plan, report, md);
  if (plan.updateDocs) files.push(updateDocs(md, plan.network === "production" ? "production" : "table"));
  log(`wrote ${files.join(", ")} in ${report.duration_s.toFixed(0)} s`);
}

function markdown(
  plan: Plan,
  report: {
    targets: Record<string, ReturnType<typeof checkTargets>>;
    acceptance: Record<string, ReturnType<typeof acceptanceTargets>>;
    worker_default: WorkerDefaults;
    started_at: string;
    floor_cpu_ms: Record<string, number | null>;
    bare_worker: SubrequestCost | null;
  },
  figures: Figures[],
): string {
  const strategies = [...new Set(figures.map((x) => x.config).filter((c) => c !== "baseline"))];
  const ratios = plan.configs.includes("baseline")
    ? strategies.map((s) => `**${s} ÷ baseline**\n\n${ratioTable(figures, s)}`).join("\n\n")
    : "";
  const floors = Object.entries(report.floor_cpu_ms)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k} ${v?.toFixed(2)} ms`)
    .join(", ");
  const marker = plan.network === "production" ? "production" : "table";
  const args = [
    plan.mode === "full" ? "" : `--${plan.mode}`,
    plan.network === "production" ? "--network=production" : "",
    plan.network === "production" && plan.seed !== DEFAULT_SEED ? `--seed=${plan.seed}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return [
    `<!-- bench:${marker}:start (npm run bench${args ? ` -- ${args}` : ""}, ${report.started_at}, model time ×${plan.scale}) -->`,
    figuresTable(figures),
    "",
    ratios,
    "",
    Object.entries(report.targets)
      .map(
        ([s, targets]) =>
          `Targets for \`${s}\`, ${whenDefault(report.worker_default, s)}:\n\n${targetsTable(targets)}`,
      )
      .join("\n\n"),
    "",
    Object.entries(report.acceptance)
      .map(([s, checks]) => `Acceptance for \`${s}\` (${plan.network} network):\n\n${targetsTable(checks)}`)
      .join("\n\n"),
    "",
    `Plans (Workers Free: CPU − floor ≤ 10 ms and ≤ 50 subrequests per invocation; QStash Free: 1,000 messages a day):\n\n${planTable(figures, report.floor_cpu_ms)}`,
    "",
    `CPU floor (a request to an unknown route, included in every figure above): ${floors || "—"}.`,
    report.bare_worker
      ? `A bare Worker's subrequest (a 1 KB POST answered after ${report.bare_worker.delay_ms} ms, bench/subrequest-cost.ts) costs the local runtime ${report.bare_worker.per_subrequest_ms.toFixed(2)} ms of CPU.`
      : "",
    report.bare_worker ? aboveBareLine(figures) : "",
    `Machine: ${os.cpus().length} cores. Scenarios marked "(noisy)" had other processes using more than ${NOISY_CORES} core meanwhile.`,
    `<!-- bench:${marker}:end -->`,
    "",
  ].join("\n");
}

/** Per strategy, CPU per run above a bare Worker's cost (c1 scenarios): threadhook's own work. */
function aboveBareLine(figures: Figures[]): string {
  const byStrategy = new Map<string, string[]>();
  for (const x of figures) {
    if (x.kind !== "c1" || x.cpu.per_run_above_bare_ms === null) continue;
    const list = byStrategy.get(x.config) ?? [];
    list.push(`${x.cpu.per_run_above_bare_ms.toFixed(1)} ms (${x.length_s} s)`);
    byStrategy.set(x.config, list);
  }
  const parts = [...byStrategy].map(([s, list]) => `\`${s}\` ${list.join(", ")}`);
  return parts.length
    ? `CPU per run above a bare Worker's with as many subrequests (c1): ${parts.join("; ")}.`
    : "";
}

/** When the default strategy (`auto`) is this one. */
const whenDefault = (w: WorkerDefaults, strategy: string) =>
  w.withWebhooks === w.strategy
    ? "the default"
    : strategy === w.withWebhooks
      ? "the default with OpenAI webhooks configured"
      : "the default without OpenAI webhooks";

const PERFORMANCE_DOC = new URL("../docs/performance.md", import.meta.url).pathname;
const BIOME = new URL("../node_modules/.bin/biome", import.meta.url).pathname;

/** Replace the tables between the bench markers (`table` or `production`) in docs/performance.md. */
function updateDocs(md: string, marker: "table" | "production"): string {
  const text = fs.readFileSync(PERFORMANCE_DOC, "utf8");
  const start = text.indexOf(`<!-- bench:${marker}:start`);
  const endMark = `<!-- bench:${marker}:end -->`;
  const end = text.indexOf(endMark);
  if (start < 0 || end < start) throw new Error(`docs/performance.md has no bench:${marker} markers`);
  const next = text.slice(0, start) + md.trimEnd() + text.slice(end + endMark.length);
  fs.writeFileSync(PERFORMANCE_DOC, next);
  // Align the new tables as `npm run format` would, so `npm run check` stays green.
  execFileSync(BIOME, ["format", "--write", PERFORMANCE_DOC], { stdio: "ignore" });
  return PERFORMANCE_DOC;
}

function writeResults(plan: Plan, report: object, md: string): string[] {
  fs.mkdirSync(plan.outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const name = `${plan.mode}${plan.network === "production" ? "-production" : ""}`;
  const files = [
    [`${stamp}-${name}.json`, `${JSON.stringify(report, null, 2)}\n`],
    [`${stamp}-${name}.md`, md],
    [`latest-${name}.json`, `${JSON.stringify(report, null, 2)}\n`],
    [`latest-${name}.md`, md],
  ] as const;
  for (const [name, text] of files) fs.writeFileSync(path.join(plan.outDir, name), text);
  return files.slice(0, 2).map(([name]) => path.join(plan.outDir, name));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
