/**
 * The bench proxies' forwarding (bench/forward.ts) against a real local server that drops a
 * kept-alive connection when a request arrives on it, as a server at its idle timeout does: such a
 * request goes once more on a new connection; a request that fails on a new connection is not sent
 * again.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { forward, readAll } from "../../bench/forward.ts";

const servers: http.Server[] = [];
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A server that answers with the request's body, except that it drops connections `drop` says to. */
async function target(drop: (nthOnSocket: number) => boolean) {
  const seen: string[] = [];
  let dropped = 0;
  const onSocket = new WeakMap<object, number>();
  const server = http.createServer(async (req, res) => {
    const n = (onSocket.get(req.socket) ?? 0) + 1;
    onSocket.set(req.socket, n);
    if (drop(n)) {
      dropped++;
      return req.socket.destroy();
    }
    const body = (await readAll(req)).toString();
    seen.push(body);
    res.end(`got ${body}`);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  const port = (server.address() as AddressInfo).port;
  const send = (body: string) =>
    new Promise<string>((resolve, reject) =>
      forward(
        { host: "127.0.0.1", port, method: "POST", path: "/", agent },
        Buffer.from(body),
        (answer) => readAll(answer).then((b) => resolve(b.toString()), reject),
        reject,
      ),
    );
  return { send, seen, dropped: () => dropped };
}

describe("bench: forwarding through a keep-alive agent", () => {
  it("sends a request again on a new connection when a reused one is dropped", async () => {
    const t = await target((n) => n === 2);
    expect(await t.send("one")).toBe("got one");
    expect(await t.send("two")).toBe("got two");
    // The first attempt of "two" was dropped unread; the second, on a new connection, was answered.
    expect(t.dropped()).toBe(1);
    expect(t.seen).toEqual(["one", "two"]);
  });

  it("does not send again when a new connection fails", async () => {
    const t = await target(() => true);
    await expect(t.send("one")).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(t.dropped()).toBe(1);
  });
});
