/**
 * What the suite's log check must know, written by the tests as they go: every secret they hold
 * or receive (API keys, webhook secrets, stand-in tokens, …) and canaries — markers the Worker was
 * made to log, which prove its output was captured. One JSON line per entry, in the capture
 * directory, outside the captured output itself.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";

export type RegistryEntry =
  | { kind: "secret"; name: string; value: string }
  | { kind: "canary"; value: string };

export function captureDir(): string | null {
  try {
    return inject("logCaptureDir") ?? null;
  } catch {
    return process.env.THREADHOOK_LOG_CAPTURE_DIR ?? null;
  }
}

function record(entry: RegistryEntry): void {
  const dir = captureDir();
  if (dir) appendFileSync(join(dir, `registry-${process.pid}.jsonl`), `${JSON.stringify(entry)}\n`);
}

/** Secrets by name; empty or missing values are skipped. */
export function registerSecrets(secrets: Record<string, string | null | undefined>): void {
  for (const [name, value] of Object.entries(secrets)) if (value) record({ kind: "secret", name, value });
}

let canaries = 0;
export function registerCanary(): string {
  const value = `canary-${process.pid}-${Date.now()}-${++canaries}`;
  record({ kind: "canary", value });
  return value;
}

declare module "vitest" {
  export interface ProvidedContext {
    logCaptureDir: string;
  }
}
