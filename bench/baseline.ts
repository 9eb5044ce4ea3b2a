/**
 * The baseline: the pattern most Assistants integrations used, as a long-lived server. Each
 * accepted message starts an in-process loop: create a conversation and a background response,
 * then `responses.retrieve` every 1.2 s until it ends, then POST the answer (signed like
 * threadhook's callbacks) to the callback URL. State lives in memory only.
 *
 * It runs in a worker thread so `process.threadCpuUsage()` measures its CPU alone: per run (between
 * accepting the message and the callback's answer) when no other run was active meanwhile, and in
 * total for the aggregate.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import OpenAI from "openai";
import { Webhook } from "standardwebhooks";

export interface BaselineOptions {
  baseURL: string;
  apiKey: string;
  inboxSecret: string;
  intervalMs: number;
}

export interface BaselineRun {
  id: string;
  cpu_ns: number | null;
}

export async function startBaseline(opts: BaselineOptions) {
  const worker = new Worker(new URL(import.meta.url), { workerData: opts });
  const url = await new Promise<string>((resolve, reject) => {
    worker.once("message", (m: { url: string }) => resolve(m.url));
    worker.once("error", reject);
  });
  return { url, close: () => worker.terminate() };
}

const TERMINAL = new Set(["completed", "failed", "cancelled", "incomplete"]);
const cpuNs = () => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) * 1000;
};

function serve(opts: BaselineOptions) {
  const client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey });
  const signer = new Webhook(opts.inboxSecret);
  let runs: BaselineRun[] = [];
  const active = new Set<{ overlapped: boolean }>();
  let seq = 0;

  async function loop(id: string, input: string, callbackUrl: string, started: number) {
    const mark = { overlapped: active.size > 0 };
    for (const other of active) other.overlapped = true;
    active.add(mark);
    try {
      const conversation = await client.conversations.create({});
      let r = await client.responses.create({
        model: "gpt-sim",
        input,
        conversation: conversation.id,
        background: true,
        store: true,
        metadata: { bench_run: id },
      });
      while (!TERMINAL.has(r.status ?? "")) {
        await new Promise((res) => setTimeout(res, opts.intervalMs));
        r = await client.responses.retrieve(r.id);
      }
      const body = JSON.stringify({
        id: `evt_${id}`,
        type: `run.${r.status}`,
        created_at: Math.floor(Date.now() / 1000),
        data: { run: { id, status: r.status, output: { text: r.output_text } } },
      });
      const msgId = `evt_${id}`;
      const now = new Date();
      await fetch(callbackUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": msgId,
          "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
          "webhook-signature": signer.sign(msgId, now, body),
        },
        body,
      }).then((res) => res.arrayBuffer());
    } finally {
      active.delete(mark);
      runs.push({ id, cpu_ns: mark.overlapped ? null : cpuNs() - started });
    }
  }

  const server = http.createServer((req, res) => {
    const started = cpuNs();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.url === "/__runs") return send(200, runs);
      if (req.url === "/__cpu") return send(200, { cpu_ns: cpuNs() });
      if (req.url === "/__reset") {
        runs = [];
        return send(200, { ok: true });
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        input: string;
        callback_url: string;
      };
      const id = `base_${++seq}`;
      loop(id, body.input, body.callback_url, started).catch((err: unknown) => {
        console.error(`baseline run ${id} failed: ${String(err)}`);
      });
      send(202, { id, status: "queued" });
    });
  });
  server.listen(0, "127.0.0.1", () => {
    parentPort?.postMessage({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
}

if (!isMainThread && parentPort) serve(workerData as BaselineOptions);
