/**
 * A pass-through HTTP proxy in front of one stand-in (Redis REST, the QStash API, OpenAI) that adds
 * a hop's round trip — half before forwarding the request, half before the answer starts — and
 * counts requests by who sent them: the Worker (its subrequests) or QStash (calls it makes for the
 * `call` strategy, recognised by QStash's `User-Agent`). Answers stream through (SSE included).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { forward, readAll } from "./forward.ts";

export interface DelayProxy {
  url: string;
  counts: { worker: number; qstash: number };
  close(): Promise<void>;
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export async function startDelayProxy(
  target: string,
  roundTrip: { worker: () => number; qstash: () => number },
): Promise<DelayProxy> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const counts = { worker: 0, qstash: 0 };
  const server = http.createServer(async (req, res) => {
    const fromQStash = /Upstash-QStash/i.test(req.headers["user-agent"] ?? "");
    counts[fromQStash ? "qstash" : "worker"]++;
    const rtt = (fromQStash ? roundTrip.qstash : roundTrip.worker)();
    const body = await readAll(req);
    await sleep(rtt / 2);
    const out = forward(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: `${to.pathname.replace(/\/$/, "")}${req.url ?? "/"}`,
        headers: { ...req.headers, host: to.host },
        agent,
      },
      body,
      async (answer) => {
        await sleep(rtt / 2);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
      (err) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`delay proxy: ${String(err)}`);
      },
    );
    res.on("close", () => out.abort());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
