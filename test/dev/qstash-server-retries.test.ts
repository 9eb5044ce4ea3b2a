// dev/qstash-server failure paths: retries, backoff, callbacks, failure callbacks, the DLQ and timeouts.
import { Client, Receiver } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type QStashHandle, startQStash } from "../../dev/qstash-server/server.ts";
import { type Destination, type Hit, header, sleep, startDestination } from "./qstash-server-helpers.ts";

let fast: QStashHandle; // timeScale 0.0005: default backoff 12 s → 6 ms, 2.5 min → 74 ms, 30 min → 0.9 s
let real: QStashHandle; // timeScale 1
let dest: Destination;
let client: Client;
let realClient: Client;

beforeAll(async () => {
  [fast, real, dest] = await Promise.all([
    startQStash({ timeScale: 0.0005 }),
    startQStash(),
    startDestination(),
  ]);
  client = new Client({ baseUrl: fast.url, token: fast.token });
  realClient = new Client({ baseUrl: real.url, token: real.token });
});

afterAll(async () => {
  await Promise.all([fast?.close(), real?.close(), dest?.close()]);
});

const json = (hit: Hit | undefined) => JSON.parse(hit?.body ?? "null");
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("retries and the DLQ", () => {
  it("retries a 500, then dead-letters it and fires the failure callback once", async () => {
    dest.answer("/fail", () => ({ status: 500, headers: { "x-why": "down" }, body: "boom" }));
    const body = { job: 42 };
    const { messageId } = await client.publishJSON({
      url: `${dest.base}/fail`,
      body,
      retries: 2,
      callback: `${dest.base}/cb`,
      failureCallback: `${dest.base}/fcb`,
    });
    const attempts = await dest.waitFor("/fail", 3);
    expect(attempts.map((hit) => header(hit, "upstash-retried"))).toEqual(["0", "1", "2"]);
    const failure = await dest.waitForOne("/fcb");
    const payload = json(failure);
    expect(payload).toMatchObject({
      status: 500,
      body: b64("boom"),
      retried: 2,
      maxRetries: 2,
      sourceMessageId: messageId,
      url: `${dest.base}/fail`,
      method: "POST",
      sourceBody: b64(JSON.stringify(body)),
    });
    expect(payload.header["x-why"]).toEqual(["down"]);
    expect(payload.dlqId).toEqual(expect.any(String));
    const receiver = new Receiver({
      currentSigningKey: fast.currentSigningKey,
      nextSigningKey: fast.nextSigningKey,
    });
    const signature = header(failure, "upstash-signature");
    await expect(receiver.verify({ signature, body: failure.body, url: `${dest.base}/fcb` })).resolves.toBe(
      true,
    );

    // The plain callback fires after every attempt; consumers spot the last one by retried == maxRetries.
    const callbacks = await dest.waitFor("/cb", 3);
    expect(callbacks.map((hit) => json(hit).retried).sort()).toEqual([0, 1, 2]);
    expect(callbacks.every((hit) => json(hit).status === 500)).toBe(true);

    const { messages } = await client.dlq.listMessages({ filter: { url: `${dest.base}/fail` } });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      messageId,
      dlqId: payload.dlqId,
      responseStatus: 500,
      responseBody: "boom",
    });
    await sleep(100);
    expect(dest.on("/fail")).toHaveLength(3);
    expect(dest.on("/fcb")).toHaveLength(1);
  });

  it("uses the default of 3 retries and QStash's growing backoff", async () => {
    dest.answer("/fail-default", () => ({ status: 502 }));
    await client.publish({ url: `${dest.base}/fail-default`, body: "x" });
    const hits = await dest.waitFor("/fail-default", 4, 5000);
    const gaps = hits.slice(1).map((hit, i) => hit.at - (hits[i]?.at ?? 0));
    expect(gaps[2]).toBeGreaterThan(gaps[1] ?? 0); // e^7.5 s vs e^5 s, scaled
    expect(gaps[2]).toBeGreaterThanOrEqual(850);
    await sleep(50);
    expect(dest.on("/fail-default")).toHaveLength(4);
    expect(fast.stats().retries).toBeGreaterThanOrEqual(3);
  });

  it("sends a 489 with Upstash-NonRetryable-Error straight to the DLQ", async () => {
    dest.answer("/fatal", () => ({
      status: 489,
      headers: { "Upstash-NonRetryable-Error": "true" },
      body: "no",
    }));
    const { messageId } = await client.publishJSON({
      url: `${dest.base}/fatal`,
      body: {},
      retries: 3,
      failureCallback: `${dest.base}/fatal-fcb`,
    });
    const failure = await dest.waitForOne("/fatal-fcb");
    expect(json(failure)).toMatchObject({ status: 489, retried: 0, sourceMessageId: messageId });
    expect(dest.on("/fatal")).toHaveLength(1);
    const { messages } = await client.dlq.listMessages({ filter: { messageId } });
    expect(messages[0]).toMatchObject({ messageId, responseStatus: 489 });
  });

  it("retries a DLQ message, and deletes one", async () => {
    let failing = true;
    dest.answer("/revive", () => ({ status: failing ? 500 : 200 }));
    const first = await client.publish({ url: `${dest.base}/revive`, body: "a", retries: 0 });
    const second = await client.publish({ url: `${dest.base}/revive`, body: "b", retries: 0 });
    await dest.waitFor("/revive", 2);
    await sleep(50);
    const { messages } = await client.dlq.listMessages({ filter: { url: `${dest.base}/revive` } });
    const byId = new Map(messages.map((m) => [m.messageId, m.dlqId]));
    failing = false;
    const retried = await client.dlq.retry(byId.get(first.messageId) ?? "");
    expect(retried.responses).toEqual([{ messageId: expect.stringMatching(/^msg_/) }]);
    const hits = await dest.waitFor("/revive", 3);
    expect(hits[2]?.body).toBe("a");
    expect(await client.dlq.delete(byId.get(second.messageId) ?? "")).toEqual({ deleted: 1 });
    const after = await client.dlq.listMessages({ filter: { url: `${dest.base}/revive` } });
    expect(after.messages).toHaveLength(0);
  });
});

describe("timing headers", () => {
  it("waits Upstash-Retry-Delay milliseconds (an expression of `retried`)", async () => {
    dest.answer("/slow-retry", () => ({ status: 500 }));
    await realClient.publish({
      url: `${dest.base}/slow-retry`,
      body: "x",
      retries: 2,
      retryDelay: "100 * pow(2, retried)",
    });
    const hits = await dest.waitFor("/slow-retry", 3, 3000);
    const gaps = hits.slice(1).map((hit, i) => hit.at - (hits[i]?.at ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[1]).toBeLessThan(2000);
  });

  it("lets Upstash-Not-Before win over Upstash-Delay", async () => {
    const notBefore = Math.ceil(Date.now() / 1000) + 1;
    const deliveredBefore = real.stats().deliveries;
    await realClient.publish({ url: `${dest.base}/not-before`, body: "x", delay: "1h", notBefore });
    const hit = await dest.waitForOne("/not-before", 3000);
    expect(hit.at).toBeGreaterThanOrEqual(notBefore * 1000 - 5);
    // The destination sees the request before QStash sees its 200: let the count settle so the
    // next test's "no delivery" check starts from a quiet server.
    await vi.waitFor(() => expect(real.stats().deliveries).toBe(deliveredBefore + 1));
  });

  it("fails an attempt that exceeds Upstash-Timeout", async () => {
    dest.answer("/hang", () => ({ status: 200, delayMs: 5000 }));
    const deliveredBefore = real.stats().deliveries;
    const { messageId } = await realClient.publish({
      url: `${dest.base}/hang`,
      body: "x",
      retries: 0,
      timeout: 1,
    });
    await sleep(1300);
    const { messages } = await realClient.dlq.listMessages({ filter: { messageId } });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ responseStatus: 0, error: "request timed out" });
    expect(real.stats().deliveries).toBe(deliveredBefore);
  });
});
