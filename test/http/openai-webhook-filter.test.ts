/**
 * OpenAI's webhooks are project-wide: every background response of the project is announced, not
 * only threadhook's. An unrelated response id must cost at most one Redis read: no QStash message
 * (no observe step, no invocation) and no OpenAI GET. Real stand-ins, the app in process.
 */
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../../src/store/redis";
import { ResponseIndex } from "../../src/store/responses";
import { type InProcess, startInProcess } from "../support/in-process";

const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
let app: InProcess;

beforeAll(async () => {
  app = await startInProcess({ vars: { OPENAI_WEBHOOK_SECRET: SECRET, DRIVE_STRATEGY: "webhook" } });
});
afterAll(async () => app?.close());

const webhook = (responseId: string) => {
  const body = JSON.stringify({
    id: `evt_${randomBytes(6).toString("hex")}`,
    object: "event",
    created_at: 1,
    type: "response.completed",
    data: { id: responseId },
  });
  const id = `wh_${randomBytes(8).toString("hex")}`;
  const at = new Date();
  return app.fetch("/webhooks/openai", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(SECRET).sign(id, at, body),
    },
  });
};

const counts = async () => ({
  redis: app.stack.redis.stats().commands,
  published: app.stack.qstash.stats().published,
  upstream: app.stack.openai.stats().requests,
});

describe("OpenAI webhook receiver", () => {
  it("drops a response that is not threadhook's after one Redis read: no publish, no GET", async () => {
    await webhook("resp_warmup"); // the first request builds the config and clients
    const before = await counts();
    const res = await webhook(`resp_${randomBytes(24).toString("hex")}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ outcome: "ignored", reason: "not a threadhook response" });
    const after = await counts();
    expect(after.redis - before.redis).toBe(1);
    expect(after.published).toBe(before.published);
    expect(after.upstream).toBe(before.upstream);
  });

  it("schedules an observe step for a response a run created", async () => {
    const { redis } = app.stack;
    const index = new ResponseIndex(createRedis(redis.url, redis.token));
    const id = `resp_${randomBytes(24).toString("hex")}`;
    await index.remember(id, { tenant: "default", run_id: "run_x" }, 60);
    const before = await counts();
    const res = await webhook(id);
    expect(await res.json()).toMatchObject({ outcome: "scheduled" });
    const after = await counts();
    expect(after.published - before.published).toBe(1);
    expect(after.upstream).toBe(before.upstream);
  });
});
