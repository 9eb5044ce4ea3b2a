/**
 * The store tier's fixture: dev/redis-rest (the Upstash REST stand-in) over a private redis-server,
 * reached through the Worker's own client (`createRedis`, @upstash/redis). No Worker, no QStash.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import { type RedisRestHandle, startRedisRest } from "../../dev/redis-rest/server.ts";
import { createRedis, type Redis } from "../../src/store/redis";

export interface StoreRedis {
  rest: RedisRestHandle;
  redis: Redis;
}

/**
 * Start one stand-in for the test file (stopped after it) and empty it before each test. The
 * returned object is filled in by `beforeAll`; read its fields inside tests only.
 */
export function useStoreRedis(): StoreRedis {
  const ctx = {} as StoreRedis;
  beforeAll(async () => {
    ctx.rest = await startRedisRest();
    ctx.redis = createRedis(ctx.rest.url, ctx.rest.token);
  });
  afterAll(async () => {
    await ctx.rest?.close();
  });
  beforeEach(async () => {
    await ctx.redis.flushdb();
  });
  return ctx;
}
