/**
 * A bare Worker (no threadhook code) run by wrangler as `npm run dev` runs threadhook, with a reader
 * of the CPU of the workerd that runs it (its main thread, as the bench measures threadhook): the
 * probes that tell the local runtime's own costs apart from threadhook's (`stream-cost.ts`,
 * `subrequest-cost.ts`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { unstable_startWorker } from "wrangler";
import { threadCpuReader, wranglerWorkerds } from "./cpu.ts";

export interface BareWorker {
  url: string;
  /** The CPU (ms) one request to `url` costs the Worker's workerd: median of `repeat` requests. */
  cpuMs: (requestUrl: string, repeat: number) => Promise<{ ms: number; body: string }>;
  dispose: () => Promise<void>;
}

export async function startBareWorker(name: string, source: string): Promise<BareWorker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  fs.writeFileSync(path.join(dir, "worker.js"), source);
  fs.writeFileSync(
    path.join(dir, "wrangler.toml"),
    `name = "${name}"\nmain = "worker.js"\ncompatibility_date = "2025-09-01"\n`,
  );
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  process.env.WRANGLER_SEND_METRICS = "false";
  const worker = await unstable_startWorker({
    config: path.join(dir, "wrangler.toml"),
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, watch: false, logLevel: "error" },
  } as Parameters<typeof unstable_startWorker>[0]);
  const dispose = async () => {
    await worker.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await worker.ready;
    const url = (await worker.url).href;
    await (await fetch(url)).text(); // starts the Worker's workerd
    const pids = wranglerWorkerds(Number(new URL(url).port));
    if (!pids) throw new Error("the Worker's workerd was not found");
    const cpu = threadCpuReader(pids.runtime);
    const cpuMs = async (requestUrl: string, repeat: number) => {
      const samples: number[] = [];
      let body = "";
      for (let i = 0; i < repeat; i++) {
        const before = cpu() ?? 0;
        body = await (await fetch(requestUrl)).text();
        // The runtime finishes the request's bookkeeping after the answer's last byte.
        await new Promise((r) => setTimeout(r, 5));
        samples.push(((cpu() ?? 0) - before) / 1e6);
      }
      samples.sort((a, b) => a - b);
      return { ms: samples[Math.floor(samples.length / 2)] ?? 0, body };
    };
    return { url, cpuMs, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
