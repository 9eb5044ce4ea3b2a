/**
 * `npm run bench:profile [-- --runs=10 --strategy=call --top=15]`: where the Worker's CPU goes, per
 * route. Starts a bench stack (bench/stack-child.ts) with the Worker's V8 inspector open, drives
 * `--runs` sequential runs of `--strategy` (each invocation alone, as the bench's `c1` scenarios),
 * takes one CPU profile over the inspector protocol (Profiler domain) meanwhile, and splits its
 * samples by invocation: a sample belongs to the request the meter was serving at its time. Prints
 * per route the sampled CPU per invocation, the source files it was spent in and the top functions
 * by self time; writes the profile (`.cpuprofile`, opens in Chrome DevTools) to bench/results/.
 *
 * The profiler's clock is the kernel's monotonic clock (V8's TimeTicks, as Node's hrtime), the
 * meter's is the wall clock: one offset, read here, maps the first onto the second. workerd's
 * sampler ticks only while the isolate runs, so the delta before a sample after a wait on I/O spans
 * the wait: each sample weighs its delta, at most twice the median delta. Sampling every 100 µs
 * slows the Worker down, and the runtime's own work outside the isolate is not sampled: read the
 * shares, not the absolute milliseconds (the bench measures those).
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { workload } from "./config-run.ts";
import { runScenario, type Scenario } from "./driver.ts";
import { parseArgs } from "./options.ts";
import type { Invocation } from "./proxy.ts";
import { startChild } from "./stack-client.ts";
import { threadhookTarget } from "./targets.ts";

interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const USAGE = `usage: npm run bench:profile -- [--runs=N] [--length=S] [--strategy=call] [--top=N] [--interval-us=N]
  [--network=local|production] [--out=DIR]`;

function options(argv: string[]) {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    flags.set(m[1] as string, m[2] ?? "true");
  }
  const known = ["runs", "length", "strategy", "top", "interval-us", "network", "out", "help"];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k}\n${USAGE}`);
  if (flags.has("help")) throw new Error(USAGE);
  const strategy = flags.get("strategy") ?? "call";
  // The bench's quick plan (model time ×0.1), for one strategy.
  const plan = parseArgs([
    "--quick",
    `--configs=${strategy}`,
    `--network=${flags.get("network") ?? "local"}`,
  ]);
  return {
    plan,
    strategy,
    runs: Number(flags.get("runs") ?? 10),
    lengthS: Number(flags.get("length") ?? 1),
    top: Number(flags.get("top") ?? 15),
    intervalUs: Number(flags.get("interval-us") ?? 100),
    outDir: flags.get("out") ?? new URL("./results", import.meta.url).pathname,
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A Chrome DevTools protocol session over the inspector's WebSocket. */
async function inspector(port: number) {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("the Worker's inspector lists no target");
  // wrangler's inspector proxy admits only local origins (Node's WebSocket sends none by default;
  // its `headers` option is undici's).
  const ws = new WebSocket(url, { headers: { origin: "http://127.0.0.1" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const scripts = new Map<string, string>();
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(String(ev.data));
    if (msg.method === "Debugger.scriptParsed") scripts.set(msg.params.scriptId, msg.params.url);
    const waiter = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (msg.error) waiter.reject(new Error(`${msg.error.message} (${msg.error.code})`));
    else waiter.resolve(msg.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, scripts, close: () => ws.close() };
}

/**
 * The source file of each line of the bundle: wrangler's bundler (esbuild) heads each module's code
 * with a `// src/steps/runner.ts` comment (`// node_modules/zod/…` for a package's).
 */
function moduleMap(source: string): (line: number) => string {
  const starts: { line: number; file: string }[] = [];
  source.split("\n").forEach((text, line) => {
    const m = /^\/\/ ((?:src|node_modules|\.\.\/)\S+\.[cm]?[jt]sx?)$/.exec(text);
    if (m) starts.push({ line, file: m[1] as string });
  });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = "(bundle)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = starts[mid] as { line: number; file: string };
      if (s.line <= line) {
        found = s.file;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** A package's files count as the package (`zod`, `@upstash/redis`); the Worker's own stay files. */
const moduleName = (file: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  return m ? (m[1] as string) : file;
};

/** The route an invocation served (step messages and callbacks by path; ids left out). */
const routeOf = (inv: Invocation) => `${inv.method} ${inv.path.replace(/\/(run|msg|asst)_[\w-]+/g, "/:id")}`;

async function main() {
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
  const opts = options(process.argv.slice(2));
  const log = (line: string) => console.error(`[profile] ${line}`);
  const port = await freePort();
  log(`starting the stack (${opts.strategy}, network ${opts.plan.network}, inspector on ${port})`);
  const child = await startChild({
    worker: true,
    timeScale: opts.plan.scale,
    workerVars: { DRIVE_STRATEGY: opts.strategy },
    openaiWebhookSecret: null,
    network: opts.plan.network,
    inspectorPort: port,
  });
  const session = await inspector(port);
  try {
    const target = await threadhookTarget(child);
    const scenario = (name: string, runs: number): Scenario => ({
      name,
      kind: "c1",
      lengthS: opts.lengthS,
      concurrency: 1,
      runs,
    });
    const load = workload(opts.plan, opts.lengthS);
    log("warming up (3 runs)");
    await runScenario(child, target, load, scenario("warmup", 3), "/profile/warmup");
    await session.send("Debugger.enable");
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: opts.intervalUs });
    await session.send("Profiler.start");
    // Profiler time (µs, monotonic) + offset = wall-clock µs, the meter's clock.
    const offsetUs = Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n);
    log(`profiling ${opts.runs} runs of ${opts.lengthS} s (×${opts.plan.scale})`);
    const raw = await runScenario(child, target, load, scenario("profiled", opts.runs), "/profile/runs");
    const { profile } = (await session.send("Profiler.stop")) as { profile: Profile };
    const lineToFile = new Map<string, (line: number) => string>();
    for (const scriptId of new Set(profile.nodes.map((n) => n.callFrame.scriptId))) {
      if (!scriptId || scriptId === "0") continue;
      const src = await session.send("Debugger.getScriptSource", { scriptId }).catch(() => null);
      if (src?.scriptSource) lineToFile.set(scriptId, moduleMap(src.scriptSource as string));
    }
    fs.mkdirSync(opts.outDir, { recursive: true });
    const file = path.join(
      opts.outDir,
      `${new Date().toISOString().replace(/[:.]/g, "-")}-profile.cpuprofile`,
    );
    fs.writeFileSync(file, JSON.stringify(profile));
    console.log(report(profile, raw.invocations, offsetUs, lineToFile, opts.top));
    log(`${raw.sent.length} runs, ${raw.invocations.length} invocations; profile written to ${file}`);
  } finally {
    session.close();
    await child.stop();
  }
}

function report(
  profile: Profile,
  invocations: Invocation[],
  offsetUs: number,
  lineToFile: Map<string, (line: number) => string>,
  top: number,
): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frameOf = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = lineToFile.get(f.scriptId)?.(f.lineNumber) ?? (f.url ? path.basename(f.url) : "");
    return { name: f.functionName || "(anonymous)", file };
  };
  // Each invocation's window on the wall clock, with the meter's 2 ms settle after the answer.
  const windows = invocations
    .map((inv) => ({ route: routeOf(inv), from: inv.started_ms, to: inv.started_ms + inv.wall_ms + 2 }))
    .sort((a, b) => a.from - b.from);
  const routes = new Map<
    string,
    { invocations: number; samples: number; fns: Map<string, number>; files: Map<string, number> }
  >();
  const routeStats = (route: string) => {
    let r = routes.get(route);
    if (!r) {
      r = { invocations: 0, samples: 0, fns: new Map(), files: new Map() };
      routes.set(route, r);
    }
    return r;
  };
  for (const w of windows) routeStats(w.route).invocations++;
  // A sample stands for the time since the one before, at most a few sampling intervals.
  const sorted = [...profile.timeDeltas].sort((a, b) => a - b);
  const capUs = 2 * (sorted[sorted.length >> 1] ?? 100);
  let t = profile.startTime;
  let w = 0;
  let outside = 0;
  const bump = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    const node = byId.get(profile.samples[i] as number);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    const wallMs = (t + offsetUs) / 1000;
    while (w < windows.length && (windows[w]?.to ?? 0) < wallMs) w++;
    const win = windows[w];
    if (!win || win.from > wallMs) {
      outside += Math.min(dt, capUs);
      continue;
    }
    const stats = routeStats(win.route);
    const { name, file } = frameOf(node);
    // The sampler ticks only while the isolate runs: a long delta spans a wait on I/O, not work.
    const weight = Math.min(dt, capUs) / 1000; // ms
    stats.samples += weight;
    bump(stats.fns, `${name}  ${file}:${node.callFrame.lineNumber + 1}`, weight);
    const source = file
      ? moduleName(file)
      : name.startsWith("(")
        ? name
        : "(native: the runtime's built-ins)";
    bump(stats.files, source, weight);
  }
  const lines: string[] = [];
  const fmt = (ms: number) => ms.toFixed(2).padStart(8);
  for (const [route, s] of [...routes].sort((a, b) => b[1].samples - a[1].samples)) {
    const per = s.invocations ? s.samples / s.invocations : 0;
    lines.push(
      "",
      `${route}: ${s.invocations} invocations, ${s.samples.toFixed(1)} ms sampled (${per.toFixed(2)} ms each)`,
    );
    lines.push("  by source (self ms per invocation, share):");
    for (const [k, v] of [...s.files].sort((a, b) => b[1] - a[1]).slice(0, top))
      lines.push(`  ${fmt(v / s.invocations)}  ${((100 * v) / s.samples).toFixed(1).padStart(5)}%  ${k}`);
    lines.push("  top functions by self time (ms per invocation, share):");
    for (const [k, v] of [...s.fns].sort((a, b) => b[1] - a[1]).slice(0, top))
      lines.push(`  ${fmt(v / s.invocations)}  ${((100 * v) / s.samples).toFixed(1).padStart(5)}%  ${k}`);
  }
  lines.push(
    "",
    `samples weigh at most ${capUs} µs (twice the median interval); busy outside any invocation: ${(outside / 1000).toFixed(1)} ms`,
  );
  return lines.join("\n");
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
