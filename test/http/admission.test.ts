/**
 * Issue 15: a request's admission — the address's failed authentications and the key's rate limit —
 * is one Redis request after the key lookup, not one each. Counted at the Redis stand-in on a
 * request that the route refuses before it touches Redis itself (an empty body).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcess, startInProcess } from "../support/in-process";
import { registerSecrets } from "../support/log-capture/registry.ts";

let app: InProcess;
beforeAll(async () => {
  app = await startInProcess({ vars: { AUTH_FAILURES_PER_MIN: "3", RATE_LIMIT_PER_MIN: "3" } });
});
afterAll(async () => app?.close());

const from = (ip: string) => ({ "cf-connecting-ip": ip });

/** Redis requests made while `f` runs. */
async function redisRequests(f: () => Promise<unknown>): Promise<number> {
  const before = app.stack.redis.stats().requests;
  await f();
  return app.stack.redis.stats().requests - before;
}

describe("admission", () => {
  it("costs one Redis request with the bootstrap key and two with a tenant's key (its lookup)", async () => {
    // A burst that straddles a minute boundary weighs the previous minute: start clear of one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    const t = await app.admin("POST", "/v1/admin/tenants", {});
    registerSecrets({ [`tenant ${t.body.id}`]: t.body.webhook_secret });
    const k = await app.admin("POST", `/v1/admin/tenants/${t.body.id}/keys`, { role: "admin" });
    registerSecrets({ [`key ${k.body.id}`]: k.body.key });
    const tenantApi = app.client(k.body.key);

    const seen: { status: number; remaining: string | null }[] = [];
    const bootstrap = await redisRequests(async () => {
      const r = await app.api("POST", "/v1/messages", {}, from("192.0.2.10"));
      seen.push({ status: r.status, remaining: r.headers.get("ratelimit-remaining") });
    });
    const tenant = await redisRequests(async () => {
      const r = await tenantApi("POST", "/v1/messages", {}, from("192.0.2.10"));
      seen.push({ status: r.status, remaining: r.headers.get("ratelimit-remaining") });
    });
    expect({ bootstrap, tenant }).toEqual({ bootstrap: 1, tenant: 2 });
    expect(seen).toEqual([
      { status: 400, remaining: "2" },
      { status: 400, remaining: "2" },
    ]);

    // The same request still counts the key's tokens and refuses past them.
    for (const expected of ["1", "0"]) {
      const r = await tenantApi("POST", "/v1/messages", {}, from("192.0.2.10"));
      expect([r.status, r.headers.get("ratelimit-remaining")]).toEqual([400, expected]);
    }
    const refused = await tenantApi("POST", "/v1/messages", {}, from("192.0.2.10"));
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: "rate_limited" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("refuses a throttled address's valid key without taking one of its tokens", async () => {
    const ip = "192.0.2.20";
    const wrong = () => app.client(`thk_${"y".repeat(32)}`)("GET", "/v1/assistants", undefined, from(ip));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await wrong()).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const t = await app.admin("POST", "/v1/admin/tenants", {});
    registerSecrets({ [`tenant ${t.body.id}`]: t.body.webhook_secret });
    const k = await app.admin("POST", `/v1/admin/tenants/${t.body.id}/keys`, { role: "admin" });
    registerSecrets({ [`key ${k.body.id}`]: k.body.key });
    const key = app.client(k.body.key);
    const throttled = await key("POST", "/v1/messages", {}, from(ip));
    expect(throttled.status).toBe(429);
    expect(throttled.body.error).toMatchObject({ code: "auth_rate_limited" });
    const elsewhere = await key("POST", "/v1/messages", {}, from("192.0.2.21"));
    expect([elsewhere.status, elsewhere.headers.get("ratelimit-remaining")]).toEqual([400, "2"]);
  });
});
