/**
 * Issue 17, the edges: `/health` answers anyone a minimal liveness and details only to the
 * operator key, with its probes cached; failed authentication is throttled per client address
 * (CF-Connecting-IP), with a 429 that does not say whether a key exists.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcess, startInProcess } from "../support/in-process";

let app: InProcess;
beforeAll(async () => {
  app = await startInProcess({ vars: { AUTH_FAILURES_PER_MIN: "5" } });
});
afterAll(async () => app?.close());

const get = (path: string, headers: Record<string, string> = {}) => app.fetch(path, { headers });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const from = (ip: string, headers: Record<string, string> = {}) => ({ "cf-connecting-ip": ip, ...headers });
const upstreamCalls = () => app.stack.openai.stats().requests;

describe("/health", () => {
  it("answers anyone a minimal liveness, without calling Redis, QStash or OpenAI", async () => {
    const before = { openai: upstreamCalls(), redis: app.stack.redis.stats().commands };
    for (let i = 0; i < 5; i++) {
      const res = await get("/health", from("198.51.100.1"));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
    }
    expect({ openai: upstreamCalls(), redis: app.stack.redis.stats().commands }).toEqual(before);
  });

  it("details the services only to the operator key, probing them at most once per few seconds", async () => {
    const operator = bearer(app.env.OPERATOR_KEY as string);
    const before = upstreamCalls();
    const answers = await Promise.all(Array.from({ length: 6 }, () => get("/health", operator)));
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as any[];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(bodies[0]).toMatchObject({
      status: "ok",
      env: "development",
      drive_strategy: "call",
      services: { redis: { reachable: true }, qstash: { reachable: true }, openai: { reachable: true } },
    });
    expect(upstreamCalls() - before).toBe(1);
    const wrong = await get("/health", from("198.51.100.2", bearer("not-the-operator-key")));
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(await wrong.json())).not.toMatch(/drive_strategy|services/);
  });
});

describe("failed authentication", () => {
  it("is limited per client address, and the 429 is the same whether the key exists or not", async () => {
    const ip = "203.0.113.50";
    const wrong = () => app.fetch("/v1/assistants", { headers: from(ip, bearer(`thk_${"x".repeat(32)}`)) });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await wrong()).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    const refusedWrong = await wrong();
    const refusedRight = await app.fetch("/v1/assistants", {
      headers: from(ip, bearer(app.env.API_KEY as string)),
    });
    const refusedOperator = await app.fetch("/v1/admin/tenants", {
      headers: from(ip, bearer(app.env.OPERATOR_KEY as string)),
    });
    for (const r of [refusedWrong, refusedRight, refusedOperator]) {
      expect(r.status).toBe(429);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    const [a, b] = [await refusedWrong.json(), await refusedRight.json()];
    expect(a).toEqual(b);
    expect(a).toMatchObject({ error: { type: "rate_limit_error", code: "auth_rate_limited" } });

    // Another address is not affected, and a valid key never counts as a failure.
    for (let i = 0; i < 8; i++) {
      const ok = await app.fetch("/v1/assistants", {
        headers: from("203.0.113.51", bearer(app.env.API_KEY as string)),
      });
      expect(ok.status).toBe(200);
    }
  });

  it("counts an IPv6 client by its /64, and wrong operator keys too", async () => {
    const wrong = (ip: string) =>
      app.fetch("/v1/admin/tenants", { headers: from(ip, bearer("wrong-operator-key-000000000")) });
    const statuses = [];
    for (let i = 1; i <= 6; i++) statuses.push((await wrong(`2001:db8:1:2::${i.toString(16)}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await wrong("2001:db8:1:3::1")).status).toBe(401);
  });
});
