/**
 * `npm run bench:assistants-stream`: what an Assistants `stream: true` run costs the invocation that
 * holds its SSE connection, through the whole local stack (the Worker in workerd). Per drive
 * strategy and run length, a few streamed runs through the official SDK's `runs.stream`; the
 * Worker logs, per stream, how many times it read the run (Redis requests) and how many upstream
 * response streams it opened to relay the text (`run stream ended`, debug). Prints the table that
 * docs/performance.md#assistants-streams quotes. `--quick`: shorter runs.
 */
import OpenAI from "openai";
import { startStack } from "../dev/stack.ts";

const quick = process.argv.includes("--quick");
const LENGTHS_S = quick ? [1, 5] : [1, 5, 20];
const RUNS = quick ? 2 : 3;
const STRATEGIES = ["stream", "poll", "webhook"] as const;
const WEBHOOK_SECRET = "whsec_YmVuY2gtYXNzaXN0YW50cy1zdHJlYW0tc2VjcmV0";

interface Ended {
  run_id: string;
  reads: number;
  relays: number;
}

/** The Worker's log lines reach this process's stdout through wrangler: pick the stream summaries. */
function captureStreamEnds(): { ended: Map<string, Ended>; stop: () => void } {
  const ended = new Map<string, Ended>();
  const original = process.stdout.write.bind(process.stdout);
  const scan = (chunk: unknown) => {
    for (const m of String(chunk).matchAll(/\{"level":"debug","msg":"run stream ended"[^}]*\}/g)) {
      const e = JSON.parse(m[0]) as Ended;
      ended.set(e.run_id, e);
    }
  };
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    scan(chunk);
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  const stop = () => {
    process.stdout.write = original;
  };
  return { ended, stop };
}

async function measure(strategy: (typeof STRATEGIES)[number], ended: Map<string, Ended>) {
  const stack = await startStack({
    ports: { worker: 0, redis: 0, qstash: 0, openai: 0, inbox: 0, slack: 0, discord: 0 },
    worker: true,
    workerLogLevel: "log",
    workerVars: {
      DRIVE_STRATEGY: strategy,
      LOG_LEVEL: "debug",
      RATE_LIMIT_PER_MIN: "0",
      ...(strategy === "webhook" ? { OPENAI_WEBHOOK_SECRET: WEBHOOK_SECRET } : {}),
    },
  });
  try {
    if (strategy === "webhook") {
      const sim = stack.ready.openai.baseURL.replace(/\/v1$/, "");
      const webhook = { url: `${stack.worker?.url}/webhooks/openai`, secret: WEBHOOK_SECRET };
      await fetch(`${sim}/__sim/webhook`, { method: "POST", body: JSON.stringify(webhook) });
    }
    const client = new OpenAI({ baseURL: `${stack.worker?.url}/v1`, apiKey: stack.ready.apiKey as string });
    const assistant = await client.beta.assistants.create({ model: "gpt-sim" });
    const rows: string[] = [];
    for (const seconds of LENGTHS_S) {
      const samples: Ended[] = [];
      for (let i = 0; i < RUNS; i++) {
        const thread = await client.beta.threads.create({
          messages: [
            {
              role: "user",
              content: `bench #sim {"delay_ms": ${seconds * 1000}, "chunks": ${seconds * 50}}`,
            },
          ],
        });
        const run = await client.beta.threads.runs
          .stream(thread.id, { assistant_id: assistant.id })
          .finalRun();
        for (let wait = 0; !ended.has(run.id) && wait < 50; wait++)
          await new Promise((r) => setTimeout(r, 20));
        const e = ended.get(run.id);
        if (e) samples.push(e);
      }
      const avg = (f: (e: Ended) => number) =>
        (samples.reduce((s, e) => s + f(e), 0) / samples.length).toFixed(1);
      const max = Math.max(...samples.map((e) => e.reads + e.relays));
      rows.push(
        `| ${strategy.padEnd(8)} | ${String(seconds).padStart(5)} s | ${avg((e) => e.reads).padStart(10)} | ${avg((e) => e.relays).padStart(14)} | ${String(max).padStart(27)} |`,
      );
    }
    return rows;
  } finally {
    await stack.close();
  }
}

async function main() {
  const { ended, stop } = captureStreamEnds();
  const rows: string[] = [];
  try {
    for (const strategy of STRATEGIES) rows.push(...(await measure(strategy, ended)));
  } finally {
    stop();
  }
  console.log(`\nAssistants stream: per streamed run (mean of ${RUNS}), the stream's own subrequests`);
  console.log("| strategy | length  | Redis reads | upstream streams | stream subrequests (max) |");
  console.log("| -------- | ------- | ----------- | ---------------- | --------------------------- |");
  for (const row of rows) console.log(row);
}

await main();
