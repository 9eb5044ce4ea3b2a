/**
 * CPU time of the Worker, read from outside workerd.
 *
 * workerd cannot tell: inside an isolate the clocks stand still while code runs (they move only on
 * I/O), and its tail events report `cpuTime: 0` and `wallTime: 0` (checked with workerd 2026-11-17:
 * the open-source runtime does not meter CPU). So the harness reads the kernel's count of the time
 * workerd's main thread spent on a CPU: field 1 of `/proc/<pid>/task/<pid>/schedstat`, in
 * nanoseconds. That thread runs every isolate's JavaScript and the runtime's own work for the
 * request (HTTP parsing, subrequests, the dev entry worker that miniflare puts in front): an upper
 * bound of what Cloudflare bills as the invocation's CPU time. wrangler runs two workerd processes;
 * the one measured is the one that runs the Worker (`wranglerWorkerds`), not its dev proxy. V8's
 * helper thread (concurrent GC and compilation) is not counted. Linux only.
 */
import fs from "node:fs";

/** The pids of the direct children of this process with a command name (workerd, redis-server). */
export function findChildren(name: string, parentPid = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`);
    if (!stat) continue;
    // Format: pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (comm === name && ppid === parentPid) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

export const findChild = (name: string, parentPid = process.pid): number | null =>
  findChildren(name, parentPid)[0] ?? null;

/**
 * The two workerd processes wrangler starts: `proxy`, its dev proxy, which owns the URL the Worker
 * is reached at and forwards each request (a hop Cloudflare does not have), and `runtime`, the one
 * that runs the Worker. Told apart by which one listens on the Worker's port.
 */
export function wranglerWorkerds(port: number): { runtime: number; proxy: number | null } | null {
  const pids = findChildren("workerd");
  const proxy = pids.find((pid) => listeningPorts(pid).has(port)) ?? null;
  const runtime = pids.find((pid) => pid !== proxy);
  return runtime === undefined ? null : { runtime, proxy };
}

/** TCP ports a process listens on: its socket inodes matched against /proc/net/tcp{,6}. */
export function listeningPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return new Set();
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of (readOr(table) ?? "").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st … inode (column 9); st 0A = LISTEN
      if (cols[3] === "0A" && cols[9] !== undefined && inodes.has(cols[9]))
        ports.add(Number.parseInt(cols[1]?.split(":")[1] ?? "", 16));
    }
  }
  return ports;
}

/** A reader of one thread's on-CPU time in nanoseconds (null when the thread is gone). */
export function threadCpuReader(pid: number, tid = pid): () => number | null {
  const path = `/proc/${pid}/task/${tid}/schedstat`;
  return () => {
    const text = readOr(path);
    return text === null ? null : Number(text.split(" ")[0]);
  };
}

function readOr(path: string): string | null {
  try {
    return fs.readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** A whole process's CPU time (all threads, user + system) in ns, from `/proc/<pid>/stat`. */
export function processCpuReader(pid: number): () => number | null {
  const tick = 1e9 / 100; // USER_HZ is 100 on Linux
  return () => {
    const stat = readOr(`/proc/${pid}/stat`);
    if (!stat) return null;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * tick;
  };
}

/** CPU time all processes on this machine spent busy (not idle or waiting for I/O), in ns. */
export function machineBusyNs(): number | null {
  const line = readOr("/proc/stat")?.split("\n")[0];
  if (!line?.startsWith("cpu ")) return null;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1e7;
}
