/** The bench harness runs end to end (a few seconds of it); the benchmark itself is `npm run bench`. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

function runBench(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bench/run.ts", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

describe("bench harness", () => {
  it("runs the smoke plan for the baseline and a strategy and writes every figure", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "threadhook-bench-"));
    try {
      const { code, stderr } = await runBench(["--smoke", "--configs=baseline,call", `--out=${out}`]);
      expect(code, stderr.slice(-2000)).toBe(0);
      const report = JSON.parse(fs.readFileSync(path.join(out, "latest-smoke.json"), "utf8"));
      const of = (config: string) => report.figures.filter((f: any) => f.config === config);
      for (const config of ["baseline", "call"]) {
        expect(of(config).map((f: any) => f.scenario)).toEqual(["c1-1s", "c5-1s", "burst-10"]);
        for (const f of of(config)) {
          expect(f.runs).toBeGreaterThan(0);
          expect(f.callback.lost).toBe(0);
          expect(f.callback.p50_ms).toBeGreaterThanOrEqual(0);
          expect(f.intake.p99_ms).toBeGreaterThan(0);
          expect(f.per_run.upstream).toBeGreaterThanOrEqual(2);
          expect(f.cpu.per_run_ms).toBeGreaterThan(0);
        }
      }
      const [c1] = of("call");
      expect(c1.cpu.samples).toBeGreaterThanOrEqual(6); // intake, start and callback of each run, alone
      // The start step and the call, plus QStash's callback with the answer (a message too).
      expect(c1.per_run).toMatchObject({ upstream: 2, qstash: 3, invocations: 3 });
      expect(c1.subrequests.max).toBeGreaterThan(0);
      // The worst invocation above a bare Worker making as many subrequests (bench/subrequest-cost.ts).
      expect(report.bare_worker.per_subrequest_ms).toBeGreaterThan(0);
      expect(c1.cpu.max_above_bare_ms).toBeLessThan(c1.cpu.max_ms - report.floor_cpu_ms.call);
      expect(c1.per_run.redis_round_trips).toBeGreaterThan(0);
      expect(of("baseline")[0].per_run).toMatchObject({ qstash: 0, redis_round_trips: 0 });
      const md = fs.readFileSync(path.join(out, "latest-smoke.md"), "utf8");
      expect(md).toContain("<!-- bench:table:start");
      expect(md).toContain("call ÷ baseline");
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
