/**
 * `npm run bench:subrequest-cost`: what the local runtime charges a Worker for its subrequests, with
 * no threadhook code. A bare Worker (run by wrangler, as the bench runs threadhook) answers each
 * request after making `k` subrequests one after another: a POST of a 1 KB JSON body to a local
 * server that answers 1 KB of JSON (the size of a Redis command and its reply carrying a run) after
 * `delay` ms. Prints the CPU of the workerd that runs the Worker (its main thread, as the bench
 * measures threadhook's invocations) per request, median of `--repeat` (9), for k = 0…8 and delays
 * of 0, 8 and 30 ms (the production network model's medians for Redis and a QStash publish,
 * `bench/network.ts`), and the fitted cost per subrequest. The bench's CPU per invocation holds
 * these costs too: threadhook's own work is what an invocation costs above a bare Worker making as
 * many subrequests (docs/performance.md).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startBareWorker } from "./bare-worker.ts";

const KS = [0, 1, 2, 4, 6, 8];
const DELAYS_MS = [0, 8, 30];
const BODY = JSON.stringify({ pad: "x".repeat(1000) });

const WORKER = `export default {
  async fetch(req) {
    const u = new URL(req.url);
    const k = Number(u.searchParams.get("k") ?? 0);
    const src = u.searchParams.get("src");
    let bytes = 0;
    for (let i = 0; i < k; i++) {
      const res = await fetch(src, { method: "POST", headers: { "content-type": "application/json" }, body: ${JSON.stringify(BODY)} });
      bytes += (await res.text()).length;
    }
    return new Response(String(bytes));
  },
};
`;

/** Least squares: ms = a + b·k. */
export function fitLine(points: { k: number; ms: number }[]): { a: number; b: number } {
  const n = points.length;
  const mk = points.reduce((s, p) => s + p.k, 0) / n;
  const mm = points.reduce((s, p) => s + p.ms, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.k - mk) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.k - mk) * (p.ms - mm), 0);
  const b = sxx === 0 ? 0 : sxy / sxx;
  return { a: mm - b * mk, b };
}

export interface SubrequestCost {
  delay_ms: number;
  /** Median CPU ms per request making k subrequests. */
  points: { k: number; ms: number }[];
  /** The fitted line: ms = floor_ms + per_subrequest_ms · k. */
  floor_ms: number;
  per_subrequest_ms: number;
}

/** Measure, for each delay, what a bare Worker's request costs with 0…8 subrequests. */
export async function subrequestCost(delaysMs: number[], repeat: number): Promise<SubrequestCost[]> {
  const server = http.createServer((req, res) => {
    const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
    req.resume();
    req.on("end", () =>
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(BODY);
      }, delay),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const source = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const worker = await startBareWorker("subrequest-cost", WORKER);
  try {
    const out: SubrequestCost[] = [];
    for (const delay of delaysMs) {
      const src = encodeURIComponent(`${source}?delay=${delay}`);
      await worker.cpuMs(`${worker.url}?k=2&src=${src}`, 3); // warm
      const points: { k: number; ms: number }[] = [];
      for (const k of KS)
        points.push({ k, ms: (await worker.cpuMs(`${worker.url}?k=${k}&src=${src}`, repeat)).ms });
      const { a, b } = fitLine(points);
      out.push({ delay_ms: delay, points, floor_ms: a, per_subrequest_ms: b });
    }
    return out;
  } finally {
    await worker.dispose();
    server.close();
  }
}

async function main() {
  const { values } = parseArgs({ options: { repeat: { type: "string", default: "9" } } });
  const costs = await subrequestCost(DELAYS_MS, Number(values.repeat));
  console.log(`CPU of the Worker's workerd per request making k subrequests, median of ${values.repeat}, ms`);
  console.log(`delay ms  ${KS.map((k) => `k=${k}`.padStart(6)).join(" ")}  per subrequest`);
  for (const c of costs)
    console.log(
      `${String(c.delay_ms).padStart(8)}  ${c.points.map((p) => p.ms.toFixed(2).padStart(6)).join(" ")}  ${c.per_subrequest_ms.toFixed(2).padStart(14)}`,
    );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
