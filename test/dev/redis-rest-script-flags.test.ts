// dev/redis-rest and Upstash's `allow-key-locking` script flag: redis-server itself refuses it, the
// stand-in accepts it (as Upstash does), alone or beside real Redis flags, through EVAL and EVALSHA,
// and threadhook's own scripts (which all carry it) run there.
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseRedisUrl, RedisPool } from "../../dev/redis-rest/pool.ts";
import { ErrorReply } from "../../dev/redis-rest/resp.ts";
import { type RedisRestHandle, startRedisRest } from "../../dev/redis-rest/server.ts";
import { KEY_LOCKING_SHEBANG } from "../../src/store/lua";
import { createRedis } from "../../src/store/redis";
import { claimRun } from "../../src/store/scripts";

let rest: RedisRestHandle;
let redis: Redis;
let direct: RedisPool;

beforeAll(async () => {
  rest = await startRedisRest();
  redis = new Redis({
    url: rest.url,
    token: rest.token,
    enableTelemetry: false,
    enableAutoPipelining: false,
  });
  direct = new RedisPool(parseRedisUrl(rest.redisUrl), 1);
});
afterAll(async () => {
  await direct?.close();
  await rest?.close();
});
beforeEach(async () => {
  await redis.flushdb();
  await redis.scriptFlush();
});

const command = (...args: string[]) => args.map((a) => Buffer.from(a));

describe("allow-key-locking", () => {
  it("redis-server itself refuses the flag (which is why the stand-in strips it)", async () => {
    const [reply] = await direct.exec([command("EVAL", `${KEY_LOCKING_SHEBANG}\nreturn 1`, "0")]);
    expect(reply).toBeInstanceOf(ErrorReply);
    expect((reply as ErrorReply).message).toMatch(/Unexpected flag in script shebang: allow-key-locking/);
  });

  it("the stand-in runs it with EVAL and serves EVALSHA of the text as sent", async () => {
    const script = `${KEY_LOCKING_SHEBANG}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`;
    expect(await redis.eval(script, ["n"], ["2"])).toBe(2);
    const sha = await redis.scriptLoad(script);
    expect(await redis.evalsha(sha, ["n"], ["3"])).toBe(5);
  });

  it("keeps the real Redis flags beside it: no-writes still refuses a write", async () => {
    const shebang = "#!lua flags=no-writes,allow-key-locking";
    await redis.set("k", "v");
    expect(await redis.eval(`${shebang}\nreturn redis.call('GET', KEYS[1])`, ["k"], [])).toBe("v");
    await expect(redis.eval(`${shebang}\nreturn redis.call('SET', KEYS[1], 'x')`, ["k"], [])).rejects.toThrow(
      /Write commands are not allowed from read-only scripts/,
    );
  });

  it("threadhook's scripts carry it and run, also after the script cache was flushed", async () => {
    expect(claimRun.lua.startsWith(`${KEY_LOCKING_SHEBANG}\n`)).toBe(true);
    await redis.hset("run", { seq: "0", doc: "{}" });
    const claim = claimRun.bind<string[]>(createRedis(rest.url, rest.token));
    const input = {
      keys: { run: "run", tenant: "tenant" },
      args: { seq: 0, owner: "a", now: 1, leaseMs: 10 },
    } as const;
    expect((await claim.exec(input))[0]).toBe("ok");
    await redis.scriptFlush();
    expect((await claim.exec(input))[0]).toBe("ok");
  });
});
