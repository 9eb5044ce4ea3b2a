/** The README's first command: `npm run dev` prints one READY line and serves a healthy Worker. */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";

let child: ChildProcess | null = null;
afterAll(() => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
});

/** Start `npm run dev` with these environment variables (ports, THREADHOOK_VAR_*); resolve with its READY line, or why it has none. */
function startDev(
  env: Record<string, number | string>,
): Promise<{ ready?: string; reason?: string; stderr: string }> {
  const proc = spawn("npm", ["run", "dev"], {
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let out = "";
  let err = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (err += d));
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ reason: `no READY line within 60 s (stdout: ${out})`, stderr: err }),
      60_000,
    );
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ reason: `exited ${code}/${signal} (stdout: ${out})`, stderr: err });
    });
    const check = () => {
      const l = out.split("\n").find((x) => x.startsWith("READY "));
      if (l) {
        clearTimeout(timer);
        resolve({ ready: l, stderr: err });
      } else if (proc.exitCode === null) setTimeout(check, 100);
    };
    check();
  });
}

describe("npm run dev", () => {
  it("prints READY with every base URL and credential, answers /health 200, and stops on Ctrl-C", async () => {
    // Every port 0: each part binds an ephemeral port itself and the READY line says which. The
    // Worker's variables come from THREADHOOK_VAR_* (docs/local-stack.md).
    const started = await startDev({
      THREADHOOK_PORT: 0,
      REDIS_REST_PORT: 0,
      QSTASH_PORT: 0,
      OPENAI_SIM_PORT: 0,
      INBOX_PORT: 0,
      THREADHOOK_VAR_DRIVE_STRATEGY: "poll",
    });
    if (!started.ready)
      throw new Error(`npm run dev did not print READY: ${started.reason}; stderr: ${started.stderr}`);
    const line = started.ready;
    expect(started.stderr).toContain("Worker variables from the environment: DRIVE_STRATEGY");
    const ready = JSON.parse(line.slice("READY ".length));
    expect(Object.keys(ready).sort()).toEqual([
      "apiKey",
      "inbox",
      "openai",
      "operatorKey",
      "qstash",
      "redis",
      "webhookSecret",
      "worker",
    ]);
    expect(ready.worker).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.qstash).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      token: expect.any(String),
      currentSigningKey: expect.stringMatching(/^sig_/),
      nextSigningKey: expect.stringMatching(/^sig_/),
    });
    expect(ready.openai.baseURL).toMatch(/\/v1$/);
    expect(await (await fetch(`${ready.worker}/health`)).json()).toEqual({ status: "ok" });
    // The details are the operator's.
    const health = await fetch(`${ready.worker}/health`, {
      headers: { authorization: `Bearer ${ready.operatorKey}` },
    });
    const body = (await health.json()) as any;
    expect(health.status).toBe(200);
    expect(body.drive_strategy).toBe("poll"); // from THREADHOOK_VAR_DRIVE_STRATEGY (the default would be "call")
    expect(body.services).toMatchObject({
      redis: { reachable: true },
      qstash: { reachable: true },
      openai: { reachable: true },
    });

    const running = child as ChildProcess;
    const exited = new Promise<string>((resolve) =>
      running.on("exit", (code, signal) => resolve(`${code}/${signal}`)),
    );
    process.kill(-(running.pid as number), "SIGINT"); // what Ctrl-C sends to the terminal's process group
    expect(["0/null", "null/SIGINT", "130/null"]).toContain(await exited);
    // Everything it started is gone: the Worker and every stand-in stop answering.
    const until = Date.now() + 10_000;
    const stillUp = async () => {
      const urls = [`${ready.worker}/health`, `${ready.inbox.url}/deliveries`, `${ready.qstash.url}/v2/keys`];
      const results = await Promise.allSettled(urls.map((u) => fetch(u)));
      return results.some((r) => r.status === "fulfilled");
    };
    while ((await stillUp()) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(await stillUp()).toBe(false);
  }, 90_000);
});
