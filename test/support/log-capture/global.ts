/**
 * Global setup of the suite: makes the capture directory every test process writes its output to,
 * and after the last test scans all of it (see scan.ts). A finding fails the run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import type { RegistryEntry } from "./registry.ts";
import { scanLogs } from "./scan.ts";

export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "threadhook-logs-"));
  process.env.THREADHOOK_LOG_CAPTURE_DIR = dir;
  project.provide("logCaptureDir", dir);
  return () => {
    const files = readdirSync(dir);
    const logs: Record<string, string> = {};
    const registry: RegistryEntry[] = [];
    for (const f of files) {
      const text = readFileSync(join(dir, f), "utf8");
      if (f.startsWith("output-")) logs[f] = text;
      else for (const line of text.split("\n").filter(Boolean)) registry.push(JSON.parse(line));
    }
    const { problems, secretsChecked, canariesFound } = scanLogs(logs, registry);
    const bytes = Object.values(logs).reduce((n, t) => n + t.length, 0);
    const summary = `log check: ${bytes} bytes from ${Object.keys(logs).length} test processes, ${secretsChecked} secrets, ${canariesFound} Worker canaries`;
    if (problems.length > 0) {
      throw new Error(
        `${summary}\nsecrets or gaps in the captured logs (kept in ${dir}):\n${problems.join("\n")}`,
      );
    }
    console.log(`${summary}: clean`);
    if (!process.env.THREADHOOK_KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
  };
}
