// Spawns a private, throw-away redis-server on a free port (redis-server rejects --port 0).
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { RedisConnection } from "./pool.ts";
import { StatusReply } from "./resp.ts";

export type SpawnedRedis = { redisUrl: string; pid: number | undefined; close(): Promise<void> };

const INSTALL_HINT =
  "redis-rest: `redis-server` was not found on PATH. Install it with " +
  "`apt-get update && apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), " +
  "or pass `redisUrl` to use an existing server.";

export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Binds port 0 to let the OS choose, then releases it for redis-server to take. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function spawnRedis(): Promise<SpawnedRedis> {
  const binary = findExecutable("redis-server");
  if (!binary) throw new Error(INSTALL_HINT);
  let lastError: unknown;
  // A port picked this way can be taken by someone else before redis binds it: retry a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await spawnOnce(binary, await freePort("127.0.0.1"));
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function spawnOnce(binary: string, port: number): Promise<SpawnedRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), "redis-rest-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn(binary, [...args, "--dir", dir], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // Safety net: never leave a redis-server behind if the test process exits without close().
  const killOnExit = () => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  const cleanup = () => {
    process.off("exit", killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(child, port, () => stderr);
  } catch (error) {
    child.kill("SIGKILL");
    cleanup();
    throw error;
  }
  return {
    redisUrl: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    close: async () => {
      await stopChild(child);
      cleanup();
    },
  };
}

async function waitForPing(child: ChildProcess, port: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `redis-rest: redis-server exited early (${child.exitCode ?? child.signalCode}): ${stderr()}`,
      );
    }
    if (await answersAsChild(port, child.pid)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`redis-rest: redis-server on port ${port} did not answer PING in time: ${stderr()}`);
}

/** True once our child answers; the process_id check rules out a foreign server on a reused port. */
async function answersAsChild(port: number, pid: number | undefined): Promise<boolean> {
  try {
    const connection = await RedisConnection.open({ host: "127.0.0.1", port });
    try {
      const [pong, info] = await connection.send([["PING"], ["INFO", "server"]].map(toBuffers));
      const ownProcess = Buffer.isBuffer(info) && info.toString().includes(`process_id:${pid}\r\n`);
      return pong instanceof StatusReply && pong.value === "PONG" && ownProcess;
    } finally {
      connection.close();
    }
  } catch {
    return false;
  }
}

function toBuffers(args: string[]): Buffer[] {
  return args.map((arg) => Buffer.from(arg));
}

/** SIGTERM, then SIGKILL if it has not exited within two seconds. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
