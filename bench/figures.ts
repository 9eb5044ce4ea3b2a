/** From what a scenario recorded to the figures the issue asks for. */
import type { RawScenario } from "./driver.ts";
import type { Invocation } from "./proxy.ts";

export interface Figures {
  config: string;
  scenario: string;
  kind: RawScenario["scenario"]["kind"];
  length_s: number;
  concurrency: number;
  runs: number;
  /** Most runs between intake and callback at one time (what the scenario really reached). */
  max_in_flight: number;
  intake: { p50_ms: number | null; p99_ms: number | null; throughput_rps: number | null; refused: number };
  /** From the simulator's completion time to the inbox's receipt (same process clock). */
  callback: {
    p50_ms: number | null;
    p99_ms: number | null;
    max_ms: number | null;
    delivered: number;
    lost: number;
  };
  per_run: {
    upstream: number;
    qstash: number;
    redis_round_trips: number;
    redis_commands: number;
    invocations: number;
    /** Upstream requests per run by endpoint (`POST /v1/responses`, …): where `upstream` comes from. */
    upstream_by_endpoint: Record<string, number>;
  };
  /** Requests an invocation sent (Redis, QStash, OpenAI, callbacks, tools), measured alone (c1 only). */
  subrequests: { p50: number | null; max: number | null };
  /** CPU ms: per invocation measured alone (c1 only), mean per invocation and per run from totals. */
  cpu: {
    samples: number;
    p50_ms: number | null;
    p99_ms: number | null;
    max_ms: number | null;
    mean_ms: number | null;
    per_run_ms: number | null;
    /**
     * The worst invocation's CPU above what the local runtime charges a bare Worker for a request
     * with as many subrequests (the floor plus the measured cost per subrequest,
     * bench/subrequest-cost.ts): threadhook's own work (c1 only; null when not measured).
     */
    max_above_bare_ms: number | null;
    /** The same, summed over a run's invocations: CPU per run above the bare cost (c1 only). */
    per_run_above_bare_ms: number | null;
  };
  /** Per Worker route: invocations and CPU samples (threadhook only). */
  by_route: Record<string, { invocations: number; cpu_p50_ms: number | null; cpu_max_ms: number | null }>;
  /** Diagnosis: CPU used during the scenario as a share of one core (1 = one core busy). */
  load: {
    workerd_main: number | null;
    workerd_all: number | null;
    dev_proxy: number | null;
    stand_ins: number | null;
    bench: number | null;
    machine: number | null;
    /** Busy CPU of everything else on the machine: high values mean the figures are noisy. */
    others: number | null;
  };
  wall_ms: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; null when there are none. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

const per = (n: number, runs: number) => (runs > 0 ? n / runs : 0);
const nsToMs = (ns: number) => ns / 1e6;

/** What the local runtime charges a bare Worker: a request's floor and each subrequest's cost (ms). */
export interface BareCost {
  floorMs: number;
  perSubrequestMs: number;
}

export function computeFigures(
  config: string,
  raw: RawScenario,
  lengthS: number,
  bare: BareCost | null = null,
): Figures {
  const { sent, before, after, scenario } = raw;
  const accepted = sent.filter((s) => s.run_id !== null);
  const runs = accepted.length;
  const latencies = accepted.flatMap((s) => {
    const id = s.run_id as string;
    const done = raw.completed[id];
    const got = raw.received[id];
    return done !== undefined && got !== undefined ? [got - done] : [];
  });
  const delivered = accepted.filter((s) => raw.received[s.run_id as string] !== undefined).length;
  const self = raw.selfCpu;
  const totalCpuNs = self ? self.total_ns : cpuDelta(before.cpu_ns, after.cpu_ns);
  const invocations = self ? runs : raw.invocations.length;
  const above = bare ? aboveBare(raw.invocations, bare) : null;
  const samples = (self ? self.runs.map((r) => r.cpu_ns) : raw.invocations.map((i) => i.cpu_ns))
    .filter((ns): ns is number => ns !== null)
    .map(nsToMs);
  return {
    config,
    scenario: scenario.name,
    kind: scenario.kind,
    length_s: lengthS,
    concurrency: scenario.concurrency,
    runs,
    max_in_flight: maxInFlight(raw),
    intake: intakeFigures(raw),
    callback: {
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
      max_ms: percentile(latencies, 100),
      delivered,
      lost: runs - delivered,
    },
    per_run: {
      upstream: per(after.upstream.requests - before.upstream.requests, runs),
      // Published messages plus QStash's callbacks (each a message on QStash's bill).
      qstash: per(
        after.qstash.published + after.qstash.callbacks - (before.qstash.published + before.qstash.callbacks),
        runs,
      ),
      redis_round_trips: per(after.redis.requests - before.redis.requests, runs),
      redis_commands: per(after.redis.commands - before.redis.commands, runs),
      invocations: per(invocations, runs),
      upstream_by_endpoint: byEndpoint(before.upstream.byEndpoint, after.upstream.byEndpoint, runs),
    },
    subrequests: subrequestFigures(raw.invocations),
    cpu: {
      samples: samples.length,
      p50_ms: percentile(samples, 50),
      p99_ms: percentile(samples, 99),
      max_ms: percentile(samples, 100),
      mean_ms: totalCpuNs === null ? null : nsToMs(totalCpuNs) / Math.max(1, invocations),
      per_run_ms: totalCpuNs === null ? null : nsToMs(totalCpuNs) / Math.max(1, runs),
      max_above_bare_ms: above ? percentile(above, 100) : null,
      per_run_above_bare_ms:
        above && scenario.kind === "c1" && runs > 0 ? above.reduce((a, b) => a + b, 0) / runs : null,
    },
    by_route: byRoute(raw.invocations),
    load: loadShares(raw),
    wall_ms: raw.wall_ms,
  };
}

function byEndpoint(
  before: Record<string, number>,
  after: Record<string, number>,
  runs: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [endpoint, n] of Object.entries(after)) {
    const d = n - (before[endpoint] ?? 0);
    if (d > 0) out[endpoint] = per(d, runs);
  }
  return out;
}

/** Each measured invocation's CPU (ms) above a bare Worker's with as many subrequests. */
export function aboveBare(invocations: Invocation[], bare: BareCost): number[] {
  return invocations.flatMap((i) =>
    i.cpu_ns === null || i.subrequests === null
      ? []
      : [nsToMs(i.cpu_ns) - bare.floorMs - bare.perSubrequestMs * i.subrequests],
  );
}

function subrequestFigures(invocations: Invocation[]): Figures["subrequests"] {
  const counts = invocations.map((i) => i.subrequests).filter((n): n is number => n !== null);
  return { p50: percentile(counts, 50), max: percentile(counts, 100) };
}

function intakeFigures(raw: RawScenario): Figures["intake"] {
  const accepted = raw.sent.filter((s) => s.run_id !== null);
  const lat = accepted.map((s) => s.latency_ms);
  const start = Math.min(...raw.sent.map((s) => s.sent_ms));
  const end = Math.max(...raw.sent.map((s) => s.sent_ms + s.latency_ms));
  // Sequential runs spend most of their time waiting for callbacks: rate = 1 / mean latency there.
  const span = raw.scenario.kind === "c1" ? lat.reduce((a, b) => a + b, 0) : Math.max(1, end - start);
  return {
    p50_ms: percentile(lat, 50),
    p99_ms: percentile(lat, 99),
    throughput_rps: accepted.length > 0 ? (accepted.length * 1000) / span : null,
    refused: raw.sent.length - accepted.length,
  };
}

function maxInFlight(raw: RawScenario): number {
  const edges: [number, number][] = [];
  for (const s of raw.sent) {
    if (s.run_id === null) continue;
    edges.push([s.sent_ms, 1], [raw.received[s.run_id] ?? Number.POSITIVE_INFINITY, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) {
    now += d;
    most = Math.max(most, now);
  }
  return most;
}

function loadShares(raw: RawScenario): Figures["load"] {
  const { before: b, after: a, wall_ms } = raw;
  const workerd = cpuDelta(b.workerd_all_ns, a.workerd_all_ns);
  const proxy = cpuDelta(b.dev_proxy_ns, a.dev_proxy_ns);
  const stand = cpuDelta(b.stack_ns, a.stack_ns);
  const bench = a.bench_ns - b.bench_ns;
  const machine = cpuDelta(b.machine_ns, a.machine_ns);
  const ours = (workerd ?? 0) + (proxy ?? 0) + (stand ?? 0) + bench;
  const others = machine === null ? null : Math.max(0, machine - ours);
  return {
    workerd_main: share(cpuDelta(b.cpu_ns, a.cpu_ns), wall_ms),
    workerd_all: share(workerd, wall_ms),
    dev_proxy: share(proxy, wall_ms),
    stand_ins: share(stand, wall_ms),
    bench: share(bench, wall_ms),
    machine: share(machine, wall_ms),
    others: share(others, wall_ms),
  };
}

const share = (ns: number | null, wallMs: number) => (ns === null ? null : ns / 1e6 / Math.max(1, wallMs));
const cpuDelta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);

/** Route labels: step messages by path, everything else by method and path with ids folded. */
function byRoute(invocations: Invocation[]): Figures["by_route"] {
  const groups = new Map<string, Invocation[]>();
  for (const inv of invocations) {
    const label = `${inv.method} ${inv.path.replace(/\/(run|asst|thread)_[^/]+/g, "/{id}")}`;
    groups.set(label, [...(groups.get(label) ?? []), inv]);
  }
  const out: Figures["by_route"] = {};
  for (const [label, list] of groups) {
    const cpu = list
      .map((i) => i.cpu_ns)
      .filter((n): n is number => n !== null)
      .map(nsToMs);
    out[label] = {
      invocations: list.length,
      cpu_p50_ms: percentile(cpu, 50),
      cpu_max_ms: percentile(cpu, 100),
    };
  }
  return out;
}
