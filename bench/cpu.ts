/**
 * CPU time of the Worker, read from outside workerd.
 *
 * workerd cannot tell: inside an isolate the clocks stand still while code runs (they move only on
 * I/O), and its tail events report `cpuTime: 0` and `wallTime: 0` (checked with workerd 2026-11-17:
 * the open-source runtime does not meter CPU). So the harness reads the kernel's count of the time
 * workerd's main thread spent on a CPU: field 1 of `/proc/<pid>/task/<pid>/schedstat`, in
 * nanoseconds. That thread runs every isolate's JavaScript and the runtime's own work for the
 * request (HTTP parsing, subrequests, the dev entry worker that wrangler puts in front): an upper
 * bound of what Cloudflare bills as the invocation's CPU time. V8's helper thread (concurrent GC and
 * compilation) is not counted. Linux only.
 */
import fs from "node:fs";

/** The pid of a direct child of this process by command name (workerd, redis-server). */
export function findChild(name: string, parentPid = process.pid): number | null {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`);
    if (!stat) continue;
    // Format: pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (comm === name && ppid === parentPid) return Number(entry);
  }
  return null;
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
