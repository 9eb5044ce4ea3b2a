// A small destination server for the qstash-server tests: records every request, answers per path.
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Hit = {
  path: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
};
/** `delayMs` holds the answer back (to exercise timeouts). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

export type Destination = {
  /** `http://127.0.0.1:<port>` */
  base: string;
  hits: Hit[];
  /** Requests received on `path` (path only, without the query). */
  on(path: string): Hit[];
  /** How `path` answers (default 200 "ok"). */
  answer(path: string, reply: (hit: Hit, count: number) => Answer): void;
  waitFor(path: string, count: number, timeoutMs?: number): Promise<Hit[]>;
  /** The first request on `path`, once it has arrived. */
  waitForOne(path: string, timeoutMs?: number): Promise<Hit>;
  close(): Promise<void>;
};

export async function startDestination(): Promise<Destination> {
  const hits: Hit[] = [];
  const answers = new Map<string, (hit: Hit, count: number) => Answer>();
  const on = (path: string) => hits.filter((hit) => hit.path === path);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const hit = {
        path,
        method: req.method ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
      };
      hits.push(hit);
      const reply = answers.get(path)?.(hit, on(path).length) ?? { status: 200, body: "ok" };
      const respond = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? "");
      };
      if (reply.delayMs) setTimeout(respond, reply.delayMs).unref();
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  const destination: Destination = {
    base: `http://127.0.0.1:${port}`,
    hits,
    on,
    answer: (path, reply) => void answers.set(path, reply),
    async waitFor(path, count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (on(path).length < count) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${count} hits on ${path} (got ${on(path).length})`);
        await sleep(10);
      }
      return on(path);
    },
    async waitForOne(path, timeoutMs) {
      const [hit] = await destination.waitFor(path, 1, timeoutMs);
      if (!hit) throw new Error(`no hit on ${path}`);
      return hit;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return destination;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const header = (hit: Hit | undefined, name: string): string =>
  String(hit?.headers[name.toLowerCase()] ?? "");
