/** `npm run dev` as a user starts it, for the tests of the README's first command and the docs page. */
import { type ChildProcess, spawn } from "node:child_process";

/** Every part on an ephemeral port: each binds port 0 itself and the READY line says which. */
export const EPHEMERAL_PORTS = {
  THREADHOOK_PORT: 0,
  REDIS_REST_PORT: 0,
  QSTASH_PORT: 0,
  OPENAI_SIM_PORT: 0,
  INBOX_PORT: 0,
  SLACK_PORT: 0,
  DISCORD_PORT: 0,
} as const;

export interface DevCommand {
  /** The process (its own process group: signal `-pid` to reach everything it started). */
  proc: ChildProcess;
  /** The READY line's JSON, or why there is none (with the process's stderr). */
  ready: Promise<{ ready: any; stderr: string }>;
  /** Kill the whole process group if it still runs. */
  kill(): void;
}

/** Start `npm run dev` with these extra environment variables (ports, THREADHOOK_VAR_*). */
export function startDevCommand(env: Record<string, number | string>, timeoutMs = 90_000): DevCommand {
  const proc = spawn("npm", ["run", "dev"], {
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (err += d));
  const ready = new Promise<{ ready: any; stderr: string }>((resolve, reject) => {
    const fail = (why: string) =>
      reject(new Error(`npm run dev did not print READY: ${why}; stderr: ${err}`));
    const timer = setTimeout(() => fail(`none within ${timeoutMs / 1000} s (stdout: ${out})`), timeoutMs);
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      fail(`exited ${code}/${signal} (stdout: ${out})`);
    });
    const check = () => {
      const line = out.split("\n").find((l) => l.startsWith("READY "));
      if (line) {
        clearTimeout(timer);
        resolve({ ready: JSON.parse(line.slice("READY ".length)), stderr: err });
      } else if (proc.exitCode === null) setTimeout(check, 100);
    };
    check();
  });
  return {
    proc,
    ready,
    kill: () => {
      if (proc.pid && proc.exitCode === null) process.kill(-proc.pid, "SIGKILL");
    },
  };
}
