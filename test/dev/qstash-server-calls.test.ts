/**
 * dev/qstash-server as the `call` drive strategy uses it, through the official @upstash/qstash
 * Client: QStash calls a URL that is not a Worker (a model API) with forwarded headers, holds the
 * call, reports the answer to a callback (the body cut to the plan's size), and refuses publishes
 * past its daily quota or burst limit the way the real service does.
 */
import { Client, QstashDailyRatelimitError, QstashRatelimitError, Receiver } from "@upstash/qstash";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type QStashHandle, startQStash } from "../../dev/qstash-server/server.ts";
import { type Destination, header, type Hit, sleep, startDestination } from "./qstash-server-helpers.ts";

let qstash: QStashHandle;
let dest: Destination;
let client: Client;

beforeAll(async () => {
  [qstash, dest] = await Promise.all([startQStash({ callbackBodyMaxBytes: 64 }), startDestination()]);
  client = new Client({ baseUrl: qstash.url, token: qstash.token, retry: false });
});
afterAll(async () => Promise.all([qstash?.close(), dest?.close()]));
afterEach(() => qstash.setQuota({}, true));

const json = (hit: Hit) => JSON.parse(hit.body) as Record<string, any>;
const fromBase64 = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

describe("QStash calling a model API", () => {
  it("forwards Authorization to the destination and reports its answer to the signed callback", async () => {
    dest.answer("/v1/responses", () => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "resp_1", status: "completed" }),
      delayMs: 1_500, // held like a model call
    }));
    const res = await client.publish({
      url: `${dest.base}/v1/responses`,
      body: JSON.stringify({ model: "gpt-4.1", input: "hi" }),
      headers: {
        "content-type": "application/json",
        Authorization: "Bearer sk-test-forwarded",
        "Upstash-Callback-Retries": "2",
      },
      retries: 0,
      timeout: 30,
      callback: `${dest.base}/called?run=r1`,
      failureCallback: `${dest.base}/failed?run=r1`,
    });
    const call = await dest.waitForOne("/v1/responses");
    expect(header(call, "authorization")).toBe("Bearer sk-test-forwarded");
    expect(header(call, "upstash-forward-authorization")).toBe("");
    const [cb] = await dest.waitFor("/called", 1, 5_000);
    const payload = json(cb as Hit);
    expect(payload.status).toBe(200);
    expect(JSON.parse(fromBase64(payload.body))).toEqual({ id: "resp_1", status: "completed" });
    expect(payload.sourceMessageId).toBe(res.messageId);
    expect(payload.retried).toBe(0);
    expect(payload.maxRetries).toBe(0);
    const receiver = new Receiver({
      currentSigningKey: qstash.currentSigningKey,
      nextSigningKey: qstash.nextSigningKey,
    });
    const url = `${dest.base}/called?run=r1`;
    expect(
      await receiver.verify({ signature: header(cb, "upstash-signature"), body: cb?.body ?? "", url }),
    ).toBe(true);
    await sleep(100);
    expect(dest.on("/failed")).toHaveLength(0);
  });

  it("cuts a long answer in the callback to the plan's message size", async () => {
    const long = JSON.stringify({ id: "resp_2", output: "x".repeat(500) });
    dest.answer("/v1/long", () => ({ status: 200, body: long }));
    await client.publish({
      url: `${dest.base}/v1/long`,
      body: "{}",
      retries: 0,
      callback: `${dest.base}/cb-long`,
    });
    const payload = json(await dest.waitForOne("/cb-long"));
    expect(fromBase64(payload.body)).toBe(long.slice(0, 64));
  });

  it("ends a call at Upstash-Timeout: status 0 in the callback and the failure callback, no retry", async () => {
    dest.answer("/v1/slow", () => ({ status: 200, body: "{}", delayMs: 3_000 }));
    await client.publish({
      url: `${dest.base}/v1/slow`,
      body: "{}",
      retries: 0,
      timeout: "1s",
      callback: `${dest.base}/cb-slow`,
      failureCallback: `${dest.base}/fail-slow`,
    });
    const cb = json(await dest.waitForOne("/cb-slow", 5_000));
    expect(cb.status).toBe(0);
    expect(cb.error).toBe("request timed out");
    const failure = json(await dest.waitForOne("/fail-slow", 5_000));
    expect(failure.status).toBe(0);
    expect(failure.dlqId).toBeTruthy();
    expect(dest.on("/v1/slow")).toHaveLength(1);
  });
});

describe("refusals", () => {
  it("refuses publishes past the daily quota with QStash's daily-limit 429", async () => {
    qstash.setQuota({ dailyMessages: 2 }, true);
    const before = qstash.stats().published;
    await client.publishJSON({ url: `${dest.base}/q`, body: {} });
    await client.publishJSON({ url: `${dest.base}/q`, body: {} });
    const err = await client.publishJSON({ url: `${dest.base}/q`, body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QstashDailyRatelimitError);
    const daily = err as QstashDailyRatelimitError;
    expect(daily.status).toBe(429);
    expect(daily.limit).toBe("2");
    expect(daily.remaining).toBe("0");
    const nextMidnight = Math.ceil(Date.now() / 86_400_000) * 86_400;
    expect(Number(daily.reset)).toBe(nextMidnight);
    expect(qstash.stats().published - before).toBe(2);
    expect(qstash.stats().quota.dailyRefused).toBe(1);
    // A batch counts each message; a new day (resetUsage) accepts again.
    qstash.setQuota({ dailyMessages: 2 }, true);
    const batch = await client
      .batchJSON([0, 1, 2].map(() => ({ url: `${dest.base}/q`, body: {} })))
      .catch((e: unknown) => e);
    expect(batch).toBeInstanceOf(QstashDailyRatelimitError);
  });

  it("refuses a burst past the per-second limit with QStash's burst 429", async () => {
    qstash.setQuota({ burstPerSecond: 1 });
    // Start at the beginning of a second so both publishes fall in one window.
    await sleep(1000 - (Date.now() % 1000) + 5);
    await client.publishJSON({ url: `${dest.base}/b`, body: {} });
    const err = await client.publishJSON({ url: `${dest.base}/b`, body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QstashRatelimitError);
    expect(Number((err as QstashRatelimitError).reset)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("is set over HTTP too (POST /__quota), for stacks in another process", async () => {
    const res = await fetch(`${qstash.url}/__quota`, {
      method: "POST",
      body: JSON.stringify({ dailyMessages: 0, resetUsage: true }),
    });
    expect(res.status).toBe(200);
    const err = await client.publishJSON({ url: `${dest.base}/h`, body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QstashDailyRatelimitError);
  });
});
