// Conformance of dev/redis-rest with the official @upstash/redis client.
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RedisRestHandle, startRedisRest } from "../../dev/redis-rest/server.ts";

let rest: RedisRestHandle;
let redis: Redis; // defaults: base64 responses, auto-pipelining (everything goes to /pipeline)
let direct: Redis; // no auto-pipelining: single commands go to "/" and errors come back as 400

beforeAll(async () => {
  rest = await startRedisRest();
  redis = new Redis({ url: rest.url, token: rest.token, enableTelemetry: false });
  direct = new Redis({ url: rest.url, token: rest.token, enableAutoPipelining: false });
});

afterAll(async () => {
  await rest?.close();
});

beforeEach(async () => {
  await redis.flushdb();
});

describe("strings, numbers and JSON", () => {
  it("round-trips ASCII, non-ASCII and emoji strings", async () => {
    for (const [key, value] of [
      ["ascii", "hello world"],
      ["accents", "héllo wörld ñ"],
      ["cjk", "日本語のテキスト"],
      ["emoji", "rocket 🚀 family 👨‍👩‍👧"],
    ]) {
      expect(await redis.set(key as string, value)).toBe("OK");
      expect(await redis.get(key as string)).toBe(value);
      expect(await direct.get(key as string)).toBe(value);
    }
  });

  it("increments integers and floats", async () => {
    expect(await redis.incr("counter")).toBe(1);
    expect(await redis.incrby("counter", 41)).toBe(42);
    expect(await redis.incrbyfloat("float", 1.5)).toBe(1.5);
    expect(await redis.incrbyfloat("float", 0.25)).toBe(1.75);
    expect(await redis.get("counter")).toBe(42);
  });

  it("serialises and parses JSON values", async () => {
    const value = { name: "Ada", tags: ["a", "ü"], nested: { n: 1, ok: true, none: null } };
    await redis.set("json", value);
    expect(await redis.get("json")).toEqual(value);
    expect(await redis.get("missing")).toBeNull();
  });

  it("keeps binary-ish and look-alike strings intact", async () => {
    const awkward = ['\u0000\u0001\t\n\r"\\ \u00ff\u2028 end', "OK", "T0s=", "dg==", "", "   "];
    for (const [i, value] of awkward.entries()) {
      await redis.set(`awkward:${i}`, value);
      expect(await redis.get(`awkward:${i}`)).toBe(value);
    }
  });
});

describe("hashes, lists, sorted sets and TTLs", () => {
  it("hset / hgetall / hget", async () => {
    expect(await redis.hset("user", { name: "Ada", age: 36, emoji: "🦄" })).toBe(3);
    expect(await redis.hgetall("user")).toEqual({ name: "Ada", age: 36, emoji: "🦄" });
    expect(await redis.hget("user", "name")).toBe("Ada");
    expect(await redis.hgetall("nobody")).toBeNull();
  });

  it("lpush / lrange", async () => {
    expect(await redis.lpush("list", "a", "b", "c")).toBe(3);
    expect(await redis.lrange("list", 0, -1)).toEqual(["c", "b", "a"]);
  });

  it("zadd / zrange with scores", async () => {
    await redis.zadd("z", { score: 2.5, member: "two" }, { score: 1, member: "one" });
    expect(await redis.zrange("z", 0, -1)).toEqual(["one", "two"]);
    expect(await redis.zrange("z", 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2.5]);
    expect(await redis.zscore("z", "two")).toBe(2.5);
  });

  it("set with ex, ttl, pexpire and expiry", async () => {
    await redis.set("ttl", "v", { ex: 100 });
    const ttl = await redis.ttl("ttl");
    expect(ttl).toBeGreaterThan(98);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.pexpire("ttl", 50_000)).toBe(1);
    const pttl = await redis.pttl("ttl");
    expect(pttl).toBeGreaterThan(49_000);
    expect(pttl).toBeLessThanOrEqual(50_000);
    expect(await redis.ttl("no-such-key")).toBe(-2);
    await redis.set("short", "v", { px: 30 });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await redis.get("short")).toBeNull();
  });
});

describe("pipelines and transactions", () => {
  it("pipeline: a failing command makes exec() throw, the others still run", async () => {
    const build = () => redis.pipeline().set("p", "text").incr("p").set("after", "ran").get("p");
    await expect(build().exec()).rejects.toThrow(
      "Command 2 [ incr ] failed: ERR value is not an integer or out of range",
    );
    expect(await redis.get("after")).toBe("ran"); // not atomic: command 3 ran after the failure
    const kept = await build().exec({ keepErrors: true });
    expect(kept).toEqual([
      { result: "OK", error: undefined },
      { result: undefined, error: "ERR value is not an integer or out of range" },
      { result: "OK", error: undefined },
      { result: "text", error: undefined },
    ]);
  });

  it("multi: results in order; a runtime error fails only its own command", async () => {
    const ok = await redis.multi().set("m", 1).incr("m").hset("mh", { f: "v" }).hgetall("mh").exec();
    expect(ok).toEqual(["OK", 2, 1, { f: "v" }]);
    const tx = redis.multi().set("m2", "x").incr("m2").set("m3", "y");
    await expect(tx.exec()).rejects.toThrow("Command 2 [ incr ] failed:");
    expect(await redis.get("m3")).toBe("y");
  });

  it("auto-pipelined concurrent commands come back in order", async () => {
    const values = Array.from({ length: 40 }, (_, i) => `v${i}-é`);
    await Promise.all(values.map((v, i) => redis.set(`c${i}`, v)));
    expect(await Promise.all(values.map((_, i) => redis.get(`c${i}`)))).toEqual(values);
  });
});

describe("scripts", () => {
  const source = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}";

  it("EVALSHA of an unknown script falls back to EVAL, then EVALSHA works", async () => {
    await redis.scriptFlush();
    for (const client of [redis, direct]) {
      await client.scriptFlush();
      const script = client.createScript<[string, string, number]>(source);
      await expect(client.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
      const before = rest.stats().commands;
      expect(await script.exec(["key"], ["é", "41"])).toEqual(["key", "é", 42]);
      expect(rest.stats().commands - before).toBe(2); // EVALSHA (NOSCRIPT) + EVAL
      expect(await script.exec(["key"], ["b", "1"])).toEqual(["key", "b", 2]);
      expect(rest.stats().commands - before).toBe(3); // cached now: EVALSHA only
    }
  });

  it("SCRIPT LOAD returns the sha the client computes", async () => {
    const script = redis.createScript(source);
    const sha = await redis.scriptLoad(source);
    await script.exec(["k"], ["x", "0"]); // makes sure the digest is computed
    expect(sha).toBe(script.sha1);
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(await redis.evalsha(sha, ["k"], ["y", "9"])).toEqual(["k", "y", 10]);
  });
});

describe("Upstash-only script flags", () => {
  const flagged = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";

  it("runs scripts with `#!lua flags=allow-key-locking` and serves their EVALSHA from then on", async () => {
    await redis.scriptFlush();
    const script = direct.createScript<number>(flagged);
    const before = rest.stats().commands;
    expect(await script.exec(["n"], [])).toBe(1); // EVALSHA (NOSCRIPT) + EVAL
    expect(await script.exec(["n"], [])).toBe(2); // EVALSHA of the client's digest is mapped
    expect(rest.stats().commands - before).toBe(3);
    expect(await direct.scriptExists(script.sha1)).toEqual([1]);
  });

  it("lets @upstash/ratelimit count, refuse and report reset and remaining", async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(3, "60 s"),
      prefix: "rl-test",
      ephemeralCache: false,
    });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await limiter.limit("who"));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
    expect(results[0]?.limit).toBe(3);
    expect(results[3]?.reset).toBeGreaterThan(Date.now());
    expect((await limiter.limit("someone else")).success).toBe(true);
  });
});

describe("encodings and auth", () => {
  it("works with responseEncoding: false (plain strings)", async () => {
    const plain = new Redis({ url: rest.url, token: rest.token, responseEncoding: false });
    await plain.set("plain", "grüße 👋");
    expect(await plain.get("plain")).toBe("grüße 👋");
    await plain.hset("ph", { a: "ä", n: 5 });
    expect(await plain.hgetall("ph")).toEqual({ a: "ä", n: 5 });
    await plain.zadd("pz", { score: 0.5, member: "x" });
    expect(await plain.zrange("pz", 0, -1, { withScores: true })).toEqual(["x", 0.5]);
    const results = await plain.pipeline().get("plain").ping().exec();
    expect(results).toEqual(["grüße 👋", "PONG"]);
  });

  it("PING and TYPE status replies decode correctly", async () => {
    await redis.set("s", "v");
    expect(await redis.ping()).toBe("PONG");
    expect(await direct.ping()).toBe("PONG");
    expect(await redis.type("s")).toBe("string");
  });

  it("a wrong token makes the client throw", async () => {
    const intruder = new Redis({ url: rest.url, token: "not-the-token", retry: false });
    await expect(intruder.get("x")).rejects.toThrow(/WRONGPASS invalid or missing auth token/);
    const intruderDirect = new Redis({ url: rest.url, token: "wrong", enableAutoPipelining: false });
    await expect(intruderDirect.set("x", 1)).rejects.toThrow(/WRONGPASS/);
  });

  it("a Redis error on a single command throws with the Redis message", async () => {
    await direct.set("str", "abc");
    await expect(direct.incr("str")).rejects.toThrow(/ERR value is not an integer or out of range/);
    await expect(direct.lpush("str", "x")).rejects.toThrow(/WRONGTYPE/);
  });
});
