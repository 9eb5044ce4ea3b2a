/** Starts a configuration's stack child (bench/stack-child.ts) and reads its counters over HTTP. */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import { machineBusyNs } from "./cpu.ts";
import type { ChildOptions, ChildReady } from "./stack-child.ts";

const benchCpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const CHILD = new URL("./stack-child.ts", import.meta.url).pathname;
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

export interface Counters {
  at_ms: number;
  redis: { requests: number; commands: number };
  /** `callbacks`: QStash's callback messages (a call's answer), billed as messages too. */
  qstash: { published: number; callbacks: number; deliveries: number; pending: number };
  upstream: { requests: number; byEndpoint: Record<string, number> };
  cpu_ns: number | null;
  /** Diagnosis: all of workerd's threads; the stand-ins (their process and redis-server). */
  workerd_all_ns: number | null;
  /** wrangler's dev proxy, the workerd in front of the Worker's (Cloudflare has no such hop). */
  dev_proxy_ns: number | null;
  stack_ns: number | null;
  /** This process: the load generator and the baseline's thread. */
  bench_ns: number;
  /** Every process on the machine (other people's test suites included). */
  machine_ns: number | null;
}

export type StackChild = Awaited<ReturnType<typeof startChild>>;

export async function startChild(opts: ChildOptions) {
  // Its own process group, so stopping it also stops the workerd it started.
  const child = spawn(process.execPath, [CHILD, JSON.stringify(opts)], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  // BENCH_WORKER_LOG=file: the child's output (the Worker's logs among it) is appended there.
  const logFile = process.env.BENCH_WORKER_LOG;
  if (logFile) {
    const out = fs.createWriteStream(logFile, { flags: "a" });
    child.stdout?.on("data", (d: Buffer) => out.write(d));
    child.stderr?.on("data", (d: Buffer) => out.write(d));
    child.once("exit", () => out.end());
  }
  const ready = await waitReady(child);
  const kill = () => {
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {}
  };
  process.once("exit", kill);
  const getJson = async (url: string, init?: RequestInit) => {
    const res = await fetch(url, init);
    if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status}`);
    return (await res.json()) as any;
  };
  return {
    ready,
    getJson,
    post: (url: string, body: unknown = {}) =>
      getJson(url, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      }),
    counters: async (): Promise<Counters> => {
      const [redis, qstash, sim, cpu] = await Promise.all([
        getJson(`${ready.redis.url}/__stats`),
        getJson(`${ready.qstash.url}/__stats`),
        getJson(`${ready.openai.url}/__sim/stats`),
        getJson(`${ready.probe}/__bench/cpu`),
      ]);
      return {
        at_ms: Date.now(),
        redis: { requests: redis.requests, commands: redis.commands },
        qstash: {
          published: qstash.published,
          callbacks: qstash.callbacks,
          deliveries: qstash.deliveries,
          pending: qstash.pending,
        },
        upstream: { requests: sim.requests, byEndpoint: sim.byEndpoint },
        cpu_ns: cpu.cpu_ns ?? null,
        workerd_all_ns: cpu.workerd_all_ns ?? null,
        dev_proxy_ns: cpu.dev_proxy_ns ?? null,
        stack_ns: cpu.stack_ns ?? null,
        bench_ns: benchCpuNs(),
        machine_ns: machineBusyNs(),
      };
    },
    stop: async () => {
      process.off("exit", kill);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(kill, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      kill(); // anything left in the group (workerd) goes too
    },
  };
}

function waitReady(child: ChildProcess): Promise<ChildReady> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(new Error("stack child not ready in time")), READY_TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(new Error(`${e.message}\n${err.slice(-2000)}`));
    };
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("READY "));
      if (!line) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      resolve(JSON.parse(line.slice(6)) as ChildReady);
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => fail(new Error(`stack child exited (${code}) before READY`)));
  });
}
