/**
 * Setup file of every test file (vitest `setupFiles`): everything written to this process's stdout
 * and stderr, and everything logged through `console` (which vitest reroutes), is also appended to
 * one file per process in the capture directory. Each e2e file runs the Worker through wrangler in
 * this process, so the Worker's own logs land there too. Synchronous appends: nothing is lost when
 * a test process ends abruptly.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "node:util";
import { captureDir } from "./registry.ts";

const dir = captureDir();
const marker = Symbol.for("threadhook.logCapture");

if (dir && !(globalThis as Record<symbol, unknown>)[marker]) {
  (globalThis as Record<symbol, unknown>)[marker] = true;
  const file = join(dir, `output-${process.pid}.log`);
  const append = (text: string) => {
    try {
      appendFileSync(file, text);
    } catch {}
  };
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      append(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      append(`${format(...args)}\n`);
      original(...args);
    };
  }
}
