// Wire-level checks of dev/redis-rest with raw fetch: status codes, exact body shapes, base64,
// stats, faults, and the lifecycle of the spawned redis-server.
import net from "node:net";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RedisRestHandle, startRedisRest } from "../../dev/redis-rest/server.ts";

let rest: RedisRestHandle;

type CallOptions = { base64?: boolean; token?: string | null; method?: string; rawBody?: string };

async function call(path: string, body?: unknown, opts: CallOptions = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = opts.token === undefined ? rest.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.base64 ?? true) headers["Upstash-Encoding"] = "base64";
  const res = await fetch(`${rest.url}${path}`, {
    method: opts.method ?? "POST",
    headers,
    body: opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

beforeAll(async () => {
  rest = await startRedisRest({ poolSize: 2 });
});

afterAll(async () => {
  await rest?.close();
});

beforeEach(async () => {
  await call("/", ["FLUSHDB"]);
  await call("/__faults", { failNext: 0 });
});

describe("auth and status codes", () => {
  it("401 with an error body for a missing or wrong token", async () => {
    const expected = {
      status: 401,
      text: JSON.stringify({ error: "WRONGPASS invalid or missing auth token" }),
    };
    for (const token of [null, "wrong"]) {
      const res = await call("/", ["PING"], { token });
      expect({ status: res.status, text: res.text }).toEqual(expected);
    }
    const viaQuery = await fetch(`${rest.url}/?_token=${rest.token}`, { method: "POST", body: '["PING"]' });
    expect(viaQuery.status).toBe(200);
  });

  it("400 {error} for Redis errors, malformed bodies and unsupported commands", async () => {
    expect(await call("/", ["GET"])).toMatchObject({
      status: 400,
      text: '{"error":"ERR wrong number of arguments for \'get\' command"}',
    });
    expect((await call("/", ["NOSUCHCMD", "x"])).text).toMatch(/^\{"error":"ERR unknown command/);
    expect((await call("/", undefined, { rawBody: "{not json" })).status).toBe(400);
    expect((await call("/", { cmd: "GET" })).status).toBe(400);
    expect((await call("/pipeline", [])).status).toBe(400);
    const blocking = await call("/", ["BLPOP", "q", 0]);
    expect(blocking.status).toBe(400);
    expect(JSON.parse(blocking.text).error).toMatch(/^ERR .*blpop/);
    expect((await call("/", ["PING"], { method: "DELETE" })).status).toBe(405);
  });

  it("returns an upstash-sync-token that changes per request", async () => {
    const first = (await call("/", ["SET", "a", "1"])).headers.get("upstash-sync-token");
    const second = (await call("/", ["SET", "a", "2"])).headers.get("upstash-sync-token");
    expect(first).toBeTruthy();
    expect(second).not.toBe(first);
  });
});

describe("response encoding", () => {
  it("base64-encodes every string at every depth, numbers and nulls as they are", async () => {
    expect((await call("/", ["SET", "k", "bar"])).text).toBe('{"result":"OK"}');
    expect((await call("/", ["GET", "k"])).text).toBe('{"result":"YmFy"}');
    expect((await call("/", ["GET", "nope"])).text).toBe('{"result":null}');
    expect((await call("/", ["PING"])).text).toBe(`{"result":"${b64("PONG")}"}`);
    await call("/", ["HSET", "h", "field", "value", "n", 7]);
    expect((await call("/", ["HGETALL", "h"])).text).toBe(
      `{"result":["${b64("field")}","${b64("value")}","${b64("n")}","${b64("7")}"]}`,
    );
    await call("/", ["ZADD", "z", 1.5, "m", 2, "ü"]);
    expect(JSON.parse((await call("/", ["ZRANGE", "z", 0, -1, "WITHSCORES"])).text)).toEqual({
      result: [b64("m"), b64("1.5"), b64("ü"), b64("2")],
    });
  });

  it("encodes nested arrays, and nested status replies too (only a top-level OK stays raw)", async () => {
    const script = "return {1, 'a', {'b', {2, redis.call('SET', 'x', '1')}}, redis.call('GET', 'none')}";
    const res = await call("/", ["EVAL", script, 0]);
    // GET of a missing key is `false` in Lua, which comes back as a nested null.
    expect(JSON.parse(res.text)).toEqual({ result: [1, "YQ==", ["Yg==", [2, "T0s="]], null] });
    const plain = await call("/", ["EVAL", script, 0], { base64: false });
    expect(JSON.parse(plain.text)).toEqual({ result: [1, "a", ["b", [2, "OK"]], null] });
    const client = new Redis({ url: rest.url, token: rest.token });
    expect(await client.eval(script, [], [])).toEqual([1, "a", ["b", [2, "OK"]], null]);
  });

  it("keeps non-UTF-8 bytes exact in base64 and uses U+FFFD without it", async () => {
    await call("/", ["EVAL", "return redis.call('SET', KEYS[1], string.char(0, 255, 254, 65))", 1, "bin"]);
    expect((await call("/", ["GET", "bin"])).text).toBe('{"result":"AP/+QQ=="}');
    expect(JSON.parse((await call("/", ["GET", "bin"], { base64: false })).text)).toEqual({
      result: "\u0000\ufffd\ufffdA",
    });
  });

  it("without the header, strings are plain and 64-bit integers are exact", async () => {
    await call("/", ["SET", "k", "grüße 🎉"], { base64: false });
    expect((await call("/", ["GET", "k"], { base64: false })).text).toBe('{"result":"grüße 🎉"}');
    expect((await call("/", ["INCRBY", "big", "9007199254740993"])).text).toBe('{"result":9007199254740993}');
  });

  it("the path form works for GET and POST", async () => {
    expect((await call("/set/path%20key/hello", undefined, { method: "GET", base64: false })).text).toBe(
      '{"result":"OK"}',
    );
    expect((await call("/get/path%20key", undefined, { method: "GET", base64: false })).text).toBe(
      '{"result":"hello"}',
    );
    await call("/set/fromBody", undefined, { rawBody: "body value", base64: false });
    expect((await call("/", ["GET", "fromBody"], { base64: false })).text).toBe('{"result":"body value"}');
  });
});

describe("pipeline and multi-exec on the wire", () => {
  it("pipeline: 200, one {result}|{error} per command, errors not encoded", async () => {
    const res = await call("/pipeline", [
      ["SET", "p", "v"],
      ["INCR", "p"],
      ["GET", "p"],
      ["LPUSH", "l", "a"],
    ]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual([
      { result: "OK" },
      { error: "ERR value is not an integer or out of range" },
      { result: b64("v") },
      { result: 1 },
    ]);
  });

  it("multi-exec: results per command; a runtime error does not abort the rest", async () => {
    const res = await call("/multi-exec", [
      ["SET", "m", "x"],
      ["INCR", "m"],
      ["SET", "n", 5],
      ["GET", "n"],
    ]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual([
      { result: "OK" },
      { error: "ERR value is not an integer or out of range" },
      { result: "OK" },
      { result: b64("5") },
    ]);
  });

  it("multi-exec: a queueing error discards the whole transaction with 400 {error}", async () => {
    const res = await call("/multi-exec", [["SET", "discarded", "1"], ["GET"]]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ error: "ERR wrong number of arguments for 'get' command" });
    expect((await call("/", ["EXISTS", "discarded"])).text).toBe('{"result":0}');
    const client = new Redis({ url: rest.url, token: rest.token });
    await expect(client.multi().set("a", 1).exec()).resolves.toEqual(["OK"]);
  });

  it("multi-exec is atomic under concurrent transactions on a shared pool", async () => {
    const txs = Array.from({ length: 60 }, (_, i) =>
      call(
        "/multi-exec",
        [
          ["SET", "shared", `v${i}`],
          ["INCR", "n"],
          ["GET", "shared"],
        ],
        { base64: false },
      ),
    );
    const results = await Promise.all(txs);
    results.forEach((res, i) => {
      expect(JSON.parse(res.text)[2]).toEqual({ result: `v${i}` });
    });
  });
});

describe("stats, faults and lifecycle", () => {
  it("counts HTTP round trips, Redis commands and paths; /__stats needs no auth", async () => {
    await fetch(`${rest.url}/__stats/reset`, { method: "POST" });
    await call("/", ["SET", "a", 1]);
    await call("/pipeline", [
      ["GET", "a"],
      ["GET", "b"],
      ["GET", "c"],
    ]);
    await call("/multi-exec", [
      ["INCR", "a"],
      ["INCR", "a"],
    ]);
    const expected = { requests: 3, commands: 6, byPath: { "/": 1, "/pipeline": 1, "/multi-exec": 1 } };
    expect(rest.stats()).toMatchObject(expected);
    const overHttp = await (await fetch(`${rest.url}/__stats`)).json();
    expect(overHttp).toMatchObject(expected);
  });

  it("POST /__faults fails the next N requests with the given status", async () => {
    const set = await fetch(`${rest.url}/__faults`, { method: "POST", body: '{"failNext":2,"status":503}' });
    expect(await set.json()).toMatchObject({ failNext: 2, status: 503, match: null, rules: [] });
    const client = new Redis({ url: rest.url, token: rest.token, enableAutoPipelining: false });
    expect((await call("/", ["PING"])).status).toBe(503);
    await expect(client.get("x")).rejects.toThrow(/injected fault/);
    expect(await client.set("x", "back")).toBe("OK");
    expect(rest.stats().faulted).toBeGreaterThanOrEqual(2);
  });

  it("POST /__faults with match fails only the requests that contain it", async () => {
    await fetch(`${rest.url}/__faults`, { method: "POST", body: '{"failNext":1,"match":"target-key"}' });
    const client = new Redis({ url: rest.url, token: rest.token, enableAutoPipelining: false });
    expect(await client.set("bystander", "1")).toBe("OK");
    await expect(client.get("target-key")).rejects.toThrow(/injected fault/);
    expect(await client.get("target-key")).toBeNull();
    await fetch(`${rest.url}/__faults`, { method: "POST", body: '{"match":null}' });
  });

  it("a second server can share an existing Redis through redisUrl", async () => {
    const second = await startRedisRest({ redisUrl: rest.redisUrl, token: "other" });
    try {
      await call("/", ["SET", "shared-key", "from-first"]);
      const client = new Redis({ url: second.url, token: "other" });
      expect(await client.get("shared-key")).toBe("from-first");
    } finally {
      await second.close();
    }
    expect((await call("/", ["GET", "shared-key"], { base64: false })).text).toBe('{"result":"from-first"}');
  });

  it("close() stops the spawned redis-server", async () => {
    const own = await startRedisRest();
    const port = Number(new URL(own.redisUrl).port);
    expect(await canConnect(port)).toBe(true);
    await own.close();
    expect(await canConnect(port)).toBe(false);
  });

  it("says how to install redis-server when it is missing", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startRedisRest()).rejects.toThrow(/apt-get install -y redis-server/);
    } finally {
      process.env.PATH = path;
    }
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
