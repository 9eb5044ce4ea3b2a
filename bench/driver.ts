/**
 * The load generator: sends messages to a target (threadhook through the meter, or the baseline),
 * waits for their callbacks in the inbox, and collects what every stand-in saw during a scenario.
 */
import type { Invocation } from "./proxy.ts";
import type { Counters, StackChild } from "./stack-client.ts";

export interface Scenario {
  name: string;
  kind: "c1" | "concurrent" | "burst";
  lengthS: number;
  concurrency: number;
  /** Runs in all: c1 one after another; concurrent paced at `ratePerS`; burst all at once. */
  runs: number;
  /** Concurrent: intake requests per second (concurrency ÷ run length, capped). */
  ratePerS?: number;
}

export interface Sent {
  run_id: string | null;
  status: number;
  sent_ms: number;
  latency_ms: number;
}

export interface Target {
  send(input: string, callbackUrl: string, key: string): Promise<Sent>;
  /** Between sequential runs: wait until nothing is in flight. */
  idle(): Promise<void>;
  /** Meter mode: serialize invocations (clean CPU samples) or let them overlap. */
  serialize(on: boolean): Promise<void>;
  /** Per-run CPU samples and total CPU, for targets that measure themselves (the baseline). */
  selfCpu?: { runs(): Promise<{ id: string; cpu_ns: number | null }[]>; total(): Promise<number> };
}

export interface RawScenario {
  scenario: Scenario;
  sent: Sent[];
  /** run id → callback receipt time (ms), first verified delivery. */
  received: Record<string, number>;
  /** run id → the simulator's completion time of the run's last response (ms). */
  completed: Record<string, number>;
  invocations: Invocation[];
  before: Counters;
  after: Counters;
  selfCpu: { runs: { id: string; cpu_ns: number | null }[]; total_ns: number } | null;
  wall_ms: number;
}

export interface Workload {
  input: (i: number) => string;
  /** Longest wait for one callback, ms. */
  callbackTimeoutMs: (scenario: Scenario) => number;
  /** Longest wait for QStash to drain after a scenario, ms. */
  drainTimeoutMs: number;
}

export async function runScenario(
  child: StackChild,
  target: Target,
  workload: Workload,
  scenario: Scenario,
  path: string,
): Promise<RawScenario> {
  await target.serialize(scenario.kind === "c1");
  const selfBefore = target.selfCpu ? await target.selfCpu.total() : 0;
  const before = await child.counters();
  const t0 = Date.now();
  const callback = `${child.ready.inbox.url}${path}`;
  const send = (i: number) => target.send(workload.input(i), callback, `bench:${path}:${i}`);
  const sent: Sent[] = [];
  const timeout = workload.callbackTimeoutMs(scenario);
  if (scenario.kind === "c1") {
    for (let i = 0; i < scenario.runs; i++) {
      sent.push(await send(i));
      await waitDeliveries(child, path, accepted(sent), timeout);
      await target.idle();
    }
  } else {
    // Open loop: run i starts at i / rate (the burst: all at once), whatever the others are doing.
    const gapMs = scenario.kind === "burst" ? 0 : 1000 / (scenario.ratePerS ?? 1);
    const pending: Promise<Sent>[] = [];
    for (let i = 0; i < scenario.runs; i++) {
      const wait = t0 + i * gapMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(send(i));
    }
    sent.push(...(await Promise.all(pending)));
    await waitDeliveries(child, path, accepted(sent), timeout);
  }
  await drain(child, target, workload.drainTimeoutMs);
  const wall_ms = Date.now() - t0;
  const after = await child.counters();
  const collected = await collect(child, sent, path);
  const selfCpu = target.selfCpu
    ? { runs: await target.selfCpu.runs(), total_ns: (await target.selfCpu.total()) - selfBefore }
    : null;
  return { scenario, sent, ...collected, before, after, selfCpu, wall_ms };
}

const accepted = (sent: Sent[]) => sent.filter((s) => s.run_id !== null).length;

async function waitDeliveries(child: StackChild, path: string, min: number, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) return;
    const q = `path=${encodeURIComponent(path)}&min=${min}&wait_ms=${Math.min(left, 30_000)}`;
    const r = await child.getJson(`${child.ready.inbox.url}/deliveries?${q}`);
    if (r.satisfied) return;
  }
}

/** Wait until QStash has nothing pending (delayed safety-net steps too) and nothing is in flight. */
async function drain(child: StackChild, target: Target, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const q = await child.getJson(`${child.ready.qstash.url}/__stats`);
    if (q.pending === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await target.idle();
}

async function collect(child: StackChild, sent: Sent[], path: string) {
  const ids = new Set(sent.map((s) => s.run_id).filter((id): id is string => id !== null));
  const inbox = await child.getJson(`${child.ready.inbox.url}/deliveries?path=${encodeURIComponent(path)}`);
  const received: Record<string, number> = {};
  for (const d of inbox.data as any[]) {
    const id = d.body?.data?.run?.id as string | undefined;
    if (id && ids.has(id) && d.verified && received[id] === undefined) received[id] = d.received_at_ms;
  }
  const sim = await child.getJson(`${child.ready.openai.url}/__sim/responses`);
  const completed: Record<string, number> = {};
  for (const r of sim.data as any[]) {
    const id = (r.metadata?.threadhook_run ?? r.metadata?.bench_run) as string | undefined;
    if (!id || !ids.has(id) || r.completed_at_ms === null) continue;
    completed[id] = Math.max(completed[id] ?? 0, r.completed_at_ms);
  }
  await child.post(`${child.ready.inbox.url}/__inbox/clear`);
  const meter = child.ready.meter;
  const invocations: Invocation[] = meter ? await child.getJson(`${meter}/__bench/invocations`) : [];
  if (meter) await child.post(`${meter}/__bench/reset`);
  return { received, completed, invocations };
}
