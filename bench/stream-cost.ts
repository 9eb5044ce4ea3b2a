/**
 * `node bench/stream-cost.ts`: what reading a streamed response costs workerd by itself, with no
 * threadhook code. A bare Worker (run by wrangler, as `npm run dev` runs threadhook) fetches an
 * event stream of 250 small events from a local server and reads it chunk by chunk (`read`) or
 * whole (`text`), with the events 0, 4 or 20 ms apart. Prints the CPU of the workerd that runs
 * the Worker (its main thread, as the bench measures it) per request, median of 5.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startBareWorker } from "./bare-worker.ts";

const EVENTS = 250;
const REPEAT = 5;

const WORKER = `export default {
  async fetch(req) {
    const u = new URL(req.url);
    const src = u.searchParams.get("src");
    if (!src) return new Response("ready");
    const res = await fetch(src);
    if (u.searchParams.get("mode") === "text") return new Response(String((await res.text()).length));
    const reader = res.body.getReader();
    let reads = 0;
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
      reads++;
    }
    return new Response(String(reads));
  },
};
`;

async function main() {
  const server = http.createServer(async (req, res) => {
    const gap = Number(new URL(req.url ?? "/", "http://x").searchParams.get("gap") ?? 0);
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (let i = 0; i < EVENTS; i++) {
      const data = { type: "response.output_text.delta", delta: "abcd", sequence_number: i };
      res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const source = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const worker = await startBareWorker("stream-cost", WORKER);
  try {
    const call = (mode: string, gap: number) =>
      worker.cpuMs(`${worker.url}?mode=${mode}&src=${encodeURIComponent(`${source}?gap=${gap}`)}`, REPEAT);
    console.log(
      `${EVENTS} events per response; CPU of the Worker's workerd per request, median of ${REPEAT}`,
    );
    console.log("mode  gap ms  reads  CPU ms");
    for (const gap of [0, 4, 20]) {
      for (const mode of ["read", "text"]) {
        const { ms: median, body: reads } = await call(mode, gap);
        console.log(
          `${mode.padEnd(5)} ${String(gap).padStart(6)}  ${(mode === "read" ? reads : "-").padStart(5)}  ${median.toFixed(1).padStart(6)}`,
        );
      }
    }
  } finally {
    await worker.dispose();
    server.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
