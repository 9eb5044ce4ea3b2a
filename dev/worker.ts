/**
 * Runs the Worker in workerd through wrangler (the same bundling and runtime as `wrangler dev`),
 * with its variables pointed at the local stand-ins.
 */
import { unstable_startWorker } from "wrangler";

const SECRET_VAR = /KEY|TOKEN|SECRET/;

export type WorkerLogLevel = "debug" | "info" | "log" | "warn" | "error" | "none";

export interface WorkerHandle {
  url: string;
  close(): Promise<void>;
}

export async function startWorker(opts: {
  port?: number;
  vars: Record<string, string>;
  watch?: boolean;
  logLevel?: WorkerLogLevel;
  /**
   * Open the V8 inspector (Chrome DevTools protocol) of the Worker's isolate on this port of
   * 127.0.0.1 (bench/profile.ts takes CPU profiles through it); closed when omitted.
   */
  inspectorPort?: number;
}): Promise<WorkerHandle> {
  // Offline machine: do not ask Cloudflare for the `Request.cf` object, send no telemetry.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  process.env.WRANGLER_SEND_METRICS = "false";
  // Secret-named variables are bound as secrets, so wrangler never prints their values.
  const bindings = Object.fromEntries(
    Object.entries(opts.vars).map(([k, v]) => [
      k,
      { type: SECRET_VAR.test(k) ? ("secret_text" as const) : ("plain_text" as const), value: v },
    ]),
  );
  const worker = await unstable_startWorker({
    config: new URL("../wrangler.toml", import.meta.url).pathname,
    bindings,
    dev: {
      server: { hostname: "127.0.0.1", port: opts.port ?? 0 },
      inspector:
        opts.inspectorPort === undefined ? false : { hostname: "127.0.0.1", port: opts.inspectorPort },
      watch: opts.watch ?? false,
      logLevel: opts.logLevel ?? "warn",
      // Nothing of the Worker's lives in workerd (state is in Redis): no shared `.wrangler/state`,
      // whose SQLite files two Workers starting at once (parallel test files) lock against each
      // other (workerd died with SQLITE_BUSY on CI's busy machine).
      persist: false,
    },
  } as Parameters<typeof unstable_startWorker>[0]);
  await worker.ready;
  const url = (await worker.url).href.replace(/\/$/, "");
  return { url, close: () => worker.dispose() };
}
