/**
 * The OpenAI simulator on its own thread. Streaming answers is a lot of small, paced writes (a
 * burst of 500 runs is 130,000 SSE events); on the stand-ins' event loop it would delay their
 * Redis and QStash replies and so threadhook's figures. Its own thread keeps OpenAI's work off
 * the infrastructure threadhook is measured against (it still counts in the stand-ins' CPU).
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { startOpenAISim } from "../dev/openai-sim/server.ts";

export interface SimThread {
  baseURL: string;
  url: string;
  apiKey: string;
  close(): Promise<void>;
}

export async function startSimThread(timeScale: number): Promise<SimThread> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { timeScale } });
  const info = await new Promise<Omit<SimThread, "close">>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    ...info,
    close: async () => {
      const exited = new Promise((r) => worker.once("exit", r));
      worker.postMessage("close");
      await exited;
    },
  };
}

async function serve() {
  const sim = await startOpenAISim({ timeScale: (workerData as { timeScale: number }).timeScale });
  parentPort?.on("message", (m) => {
    if (m === "close") void sim.close().then(() => process.exit(0));
  });
  parentPort?.postMessage({ baseURL: sim.baseURL, url: sim.url, apiKey: sim.apiKey });
}

if (!isMainThread && parentPort) void serve();
