/**
 * ApiKeyStore against the Upstash REST stand-in: the per-tenant cap on live keys (issue 17) is
 * checked and written in one script, whatever the keys' names hold, and revoked keys free a place.
 */
import { describe, expect, it } from "vitest";
import { newId } from "../../src/store/ids";
import { type ApiKeyRecord, ApiKeyStore } from "../../src/store/tenants";
import { useStoreRedis } from "../support/redis-rest";

const ctx = useStoreRedis();

const key = (name: string | null): ApiKeyRecord => ({
  id: newId("key"),
  object: "api_key",
  tenant: "acme",
  name,
  role: "member",
  assistant_ids: null,
  rate_limit_per_min: null,
  hint: "thk_abcd",
  created_at: 1,
  revoked_at: null,
  hash: newId("key"),
});

describe("api keys", () => {
  it("caps live keys per tenant atomically; revoked keys and odd names do not fool the count", async () => {
    const store = new ApiKeyStore(ctx.redis);
    // A lone surrogate (cjson refuses its escape) and a name that spells the live marker.
    const names = ["\ud800 lone", 'x"revoked_at":null', null];
    const results = await Promise.all([...names, "4th", "5th"].map((n) => store.put(key(n), 3)));
    expect(results.filter(Boolean)).toHaveLength(3);
    const live = await store.list("acme");
    expect(live).toHaveLength(3);
    const [first] = live;
    await store.revoke(first as ApiKeyRecord, 2);
    expect(await store.put(key("after a revoke"), 3)).toBe(true);
    expect(await store.put(key("over"), 3)).toBe(false);
    const all = await store.list("acme");
    expect([all.length, all.filter((k) => k.revoked_at === null).length]).toEqual([4, 3]);
  });
});
