/**
 * Issue 13, finding 7: a step that finds its run leased by another holder answers 503 with a
 * `Retry-After` that says when the lease ends, so QStash comes back then (its own backoff, 1/4/16 s
 * here, would spend every retry inside the lease and dead-letter the step).
 */
import { createHash, createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../../src/store/redis";
import { RunStore } from "../../src/store/runs";
import { type InProcess, startInProcess } from "../support/in-process";

let ip: InProcess;
beforeAll(async () => {
  ip = await startInProcess();
});
afterAll(async () => ip?.close());

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");
function signature(key: string, url: string, body: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: "Upstash",
    sub: url,
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: `jwt_${Math.random()}`,
    body: createHash("sha256").update(body).digest("base64url"),
  };
  const unsigned = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${unsigned}.${createHmac("sha256", key).update(unsigned).digest("base64url")}`;
}

describe("a busy step", () => {
  it("answers 503 with Retry-After at the end of the holder's lease", async () => {
    const assistant = (await ip.api("POST", "/v1/assistants", { model: "gpt-sim" })).body;
    const run = (
      await ip.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        input: "hi",
        callback_url: `${ip.inboxUrl}/hooks/busy`,
      })
    ).body;
    expect(run.status).toBe("queued");
    const tenant = "default";
    const runs = new RunStore(
      createRedis(ip.env.UPSTASH_REDIS_REST_URL as string, ip.env.UPSTASH_REDIS_REST_TOKEN as string),
      // Only claims are used here; the tenant defaults do not matter.
      {} as never,
    );
    const leaseMs = 90_000;
    const held = await runs.claim(tenant, run.id, 0, "another-step", Date.now(), leaseMs);
    expect(held.kind).toBe("ok");
    const body = JSON.stringify({ tenant, run_id: run.id, seq: 0 });
    const url = `${ip.env.PUBLIC_URL}/internal/steps/drive`;
    const res = await ip.fetch("/internal/steps/drive", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "upstash-signature": signature(ip.env.QSTASH_CURRENT_SIGNING_KEY as string, url, body),
      },
      body,
    });
    expect(res.status).toBe(503);
    const retryAfter = Number(res.headers.get("retry-after"));
    // The lease had about 88 s left after the step's own 2 s wait for it.
    expect(retryAfter).toBeGreaterThanOrEqual(80);
    expect(retryAfter).toBeLessThanOrEqual(90);
    expect(await res.json()).toMatchObject({ outcome: "busy", retry_after_s: retryAfter });
  });

  it("the reconciler's route takes only calls QStash signed for it", async () => {
    const body = "{}";
    const unsigned = await ip.fetch("/internal/steps/reconcile", { method: "POST", body });
    expect(unsigned.status).toBe(401);
    const forOther = signature(
      ip.env.QSTASH_CURRENT_SIGNING_KEY as string,
      `${ip.env.PUBLIC_URL}/internal/steps/drive`,
      body,
    );
    const misdirected = await ip.fetch("/internal/steps/reconcile", {
      method: "POST",
      headers: { "upstash-signature": forOther },
      body,
    });
    expect(misdirected.status).toBe(401);
    const url = `${ip.env.PUBLIC_URL}/internal/steps/reconcile`;
    const signed = await ip.fetch("/internal/steps/reconcile", {
      method: "POST",
      headers: { "upstash-signature": signature(ip.env.QSTASH_CURRENT_SIGNING_KEY as string, url, body) },
      body,
    });
    expect(signed.status).toBe(200);
    expect(await signed.json()).toMatchObject({ outcome: "reconciled" });
  });
});
