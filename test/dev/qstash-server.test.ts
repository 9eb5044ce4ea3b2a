// Conformance of dev/qstash-server with the official @upstash/qstash Client and Receiver.
import { Client, Receiver } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type QStashHandle, startQStash } from "../../dev/qstash-server/server.ts";
import { type Destination, header, sleep, startDestination } from "./qstash-server-helpers.ts";

let real: QStashHandle; // timeScale 1: delays are honoured in real time
let fast: QStashHandle; // timeScale 0.2: delayed messages without long waits
let dest: Destination;
let client: Client;
let fastClient: Client;

beforeAll(async () => {
  [real, fast, dest] = await Promise.all([
    startQStash(),
    startQStash({ timeScale: 0.2 }),
    startDestination(),
  ]);
  client = new Client({ baseUrl: real.url, token: real.token });
  fastClient = new Client({ baseUrl: fast.url, token: fast.token });
});

afterAll(async () => {
  await Promise.all([real?.close(), fast?.close(), dest?.close()]);
});

describe("publish and delivery", () => {
  it("delivers publishJSON at once with the body, method, content type and forwarded headers", async () => {
    const url = `${dest.base}/now?x=1`;
    const res = await client.publishJSON({ url, body: { hello: "world" }, headers: { "X-Trace": "t-1" } });
    expect(res.messageId).toMatch(/^msg_/);
    const hit = await dest.waitForOne("/now");
    expect(hit?.method).toBe("POST");
    expect(JSON.parse(hit?.body ?? "")).toEqual({ hello: "world" });
    expect(header(hit, "content-type")).toBe("application/json");
    expect(header(hit, "x-trace")).toBe("t-1");
    expect(header(hit, "upstash-message-id")).toBe(res.messageId);
    expect(header(hit, "upstash-retried")).toBe("0");
    expect(header(hit, "upstash-forward-x-trace")).toBe("");
  });

  it("waits for the delay before delivering", async () => {
    const publishedAt = Date.now();
    await client.publishJSON({ url: `${dest.base}/delayed`, body: { n: 1 }, delay: 1 });
    await sleep(600);
    expect(dest.on("/delayed")).toHaveLength(0);
    const hit = await dest.waitForOne("/delayed", 3000);
    expect(hit.at - publishedAt).toBeGreaterThanOrEqual(1000);
  });

  it("batchJSON publishes every element, each delivered once", async () => {
    const res = await client.batchJSON([
      { url: `${dest.base}/batch-a`, body: { n: 1 } },
      { url: `${dest.base}/batch-b`, body: { n: 2 }, method: "PUT" },
    ]);
    expect(res).toHaveLength(2);
    const a = await dest.waitForOne("/batch-a");
    const b = await dest.waitForOne("/batch-b");
    expect(header(a, "upstash-message-id")).toBe((res[0] as { messageId: string }).messageId);
    expect(b?.method).toBe("PUT");
    expect(JSON.parse(b?.body ?? "")).toEqual({ n: 2 });
  });

  it("enqueues through a named queue", async () => {
    const res = await client
      .queue({ queueName: "jobs" })
      .enqueueJSON({ url: `${dest.base}/queued`, body: { q: 1 } });
    await dest.waitFor("/queued", 1);
    expect(res.messageId).toMatch(/^msg_/);
  });

  it("rejects a destination without http(s) with the real error body", async () => {
    const res = await fetch(`${real.url}/v2/publish/ftp://example.com`, {
      method: "POST",
      headers: { authorization: `Bearer ${real.token}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid destination url: endpoint has invalid scheme, add http:// or https://",
    });
  });

  it("requires the token (Bearer or ?qstash_token=)", async () => {
    const target = `${real.url}/v2/publish/${dest.base}/auth`;
    const bad = await fetch(target, { method: "POST", headers: { authorization: "Bearer nope" } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toHaveProperty("error");
    const viaQuery = await fetch(`${target}?keep=1&qstash_token=${encodeURIComponent(real.token)}`, {
      method: "POST",
    });
    expect(viaQuery.status).toBe(200);
    const hit = await dest.waitForOne("/auth");
    expect(header(hit, "upstash-signature")).not.toBe("");
    expect(
      await new Client({ baseUrl: real.url, token: "wrong" }).messages.get("msg_x").catch((e) => e.status),
    ).toBe(401);
  });
});

describe("deduplication and cancellation", () => {
  it("answers a repeated deduplication id with the same messageId and delivers once", async () => {
    const url = `${dest.base}/dedup`;
    const first = await client.publishJSON({ url, body: { a: 1 }, deduplicationId: "dedup-1" });
    const second = await client.publishJSON({ url, body: { a: 2 }, deduplicationId: "dedup-1" });
    expect(second).toMatchObject({ messageId: first.messageId, deduplicated: true });
    expect(first.deduplicated).toBeUndefined();
    await dest.waitFor("/dedup", 1);
    await sleep(200);
    expect(dest.on("/dedup")).toHaveLength(1);
  });

  it("deduplicates identical content when content-based deduplication is on", async () => {
    const url = `${dest.base}/content-dedup`;
    const first = await client.publishJSON({ url, body: { same: true }, contentBasedDeduplication: true });
    const second = await client.publishJSON({ url, body: { same: true }, contentBasedDeduplication: true });
    const other = await client.publishJSON({ url, body: { same: false }, contentBasedDeduplication: true });
    expect(second).toMatchObject({ messageId: first.messageId, deduplicated: true });
    expect(other.messageId).not.toBe(first.messageId);
    await dest.waitFor("/content-dedup", 2);
  });

  it("messages.delete cancels a delayed message, which is then never delivered", async () => {
    const pendingBefore = fast.stats().pending;
    const { messageId } = await fastClient.publishJSON({ url: `${dest.base}/cancelled`, body: {}, delay: 1 });
    expect(fast.stats().pending).toBe(pendingBefore + 1);
    const stored = await fastClient.messages.get(messageId);
    expect(stored).toMatchObject({ messageId, url: `${dest.base}/cancelled`, method: "POST", maxRetries: 3 });
    await fastClient.messages.delete(messageId);
    await sleep(500);
    expect(dest.on("/cancelled")).toHaveLength(0);
    await expect(fastClient.messages.get(messageId)).rejects.toMatchObject({ status: 404 });
    expect(fast.stats().cancelled).toBe(1);
    expect(fast.stats().pending).toBe(pendingBefore);
    expect(((await (await fetch(`${fast.url}/__stats`)).json()) as { pending: number }).pending).toBe(
      pendingBefore,
    );
  });

  it("messages.cancel returns a JSON count", async () => {
    const { messageId } = await fastClient.publishJSON({
      url: `${dest.base}/cancelled-2`,
      body: {},
      delay: 10,
    });
    expect(await fastClient.messages.cancel(messageId)).toEqual({ cancelled: 1 });
    const many = await Promise.all(
      [1, 2].map(() => fastClient.publishJSON({ url: `${dest.base}/c3`, body: {}, delay: 10 })),
    );
    expect(await fastClient.messages.cancel(many.map((m) => m.messageId))).toEqual({ cancelled: 2 });
  });
});

describe("signatures", () => {
  it("verifies with the official Receiver and rejects a tampered body or a wrong url", async () => {
    const url = `${dest.base}/signed`;
    await client.publishJSON({ url, body: { signed: 1 } });
    const hit = await dest.waitForOne("/signed");
    const signature = header(hit, "upstash-signature");
    const receiver = new Receiver({
      currentSigningKey: real.currentSigningKey,
      nextSigningKey: real.nextSigningKey,
    });
    await expect(receiver.verify({ signature, body: hit.body, url })).resolves.toBe(true);
    await expect(receiver.verify({ signature, body: `${hit.body} `, url })).rejects.toThrow(/body hash/);
    await expect(receiver.verify({ signature, body: hit.body, url: `${url}/other` })).rejects.toThrow(
      /subject/,
    );
    const onlyNext = new Receiver({ currentSigningKey: "sig_wrong", nextSigningKey: "sig_wrong2" });
    await expect(onlyNext.verify({ signature, body: hit.body })).rejects.toThrow();
  });

  it("after rotateKeys a verifier holding the old pair still verifies through its next key", async () => {
    const server = await startQStash();
    try {
      const old = { currentSigningKey: server.currentSigningKey, nextSigningKey: server.nextSigningKey };
      server.rotateKeys();
      expect(server.currentSigningKey).toBe(old.nextSigningKey);
      expect(server.nextSigningKey).not.toBe(old.nextSigningKey);
      const keys = await (
        await fetch(`${server.url}/v2/keys`, { headers: { authorization: `Bearer ${server.token}` } })
      ).json();
      expect(keys).toEqual({ current: server.currentSigningKey, next: server.nextSigningKey });
      const url = `${dest.base}/rotated`;
      await new Client({ baseUrl: server.url, token: server.token }).publish({ url, body: "plain text" });
      const hit = await dest.waitForOne("/rotated");
      const signature = header(hit, "upstash-signature");
      expect(hit?.body).toBe("plain text");
      await expect(new Receiver(old).verify({ signature, body: hit.body, url })).resolves.toBe(true);
      const stale = new Receiver({
        currentSigningKey: old.currentSigningKey,
        nextSigningKey: old.currentSigningKey,
      });
      await expect(stale.verify({ signature, body: hit.body, url })).rejects.toThrow();
    } finally {
      await server.close();
    }
  });
});

describe("duplicate injection and stats", () => {
  it("duplicateFraction 1 delivers each message twice with the same Upstash-Message-Id", async () => {
    const server = await startQStash({ duplicateFraction: 1 });
    try {
      const dupClient = new Client({ baseUrl: server.url, token: server.token });
      const { messageId } = await dupClient.publishJSON({ url: `${dest.base}/twice`, body: { d: 1 } });
      const hits = await dest.waitFor("/twice", 2);
      expect(hits.map((hit) => header(hit, "upstash-message-id"))).toEqual([messageId, messageId]);
      const receiver = new Receiver({
        currentSigningKey: server.currentSigningKey,
        nextSigningKey: server.nextSigningKey,
      });
      for (const hit of hits) {
        await receiver.verify({ signature: header(hit, "upstash-signature"), body: hit.body });
      }
      expect(server.stats()).toMatchObject({ published: 1, deliveries: 1, duplicatesInjected: 1 });
      expect(server.stats().byDestinationPath["/twice"]).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("duplicateFraction 0.5 duplicates exactly every second delivery", async () => {
    const server = await startQStash({ duplicateFraction: 0.5 });
    try {
      const halfClient = new Client({ baseUrl: server.url, token: server.token });
      for (let i = 0; i < 4; i++) await halfClient.publishJSON({ url: `${dest.base}/half`, body: { i } });
      await dest.waitFor("/half", 6);
      expect(server.stats().duplicatesInjected).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("serves /__stats and resets it", async () => {
    const stats = await (await fetch(`${real.url}/__stats`)).json();
    expect(stats.published).toBeGreaterThan(0);
    expect(stats.requests["POST /v2/publish"]).toBeGreaterThan(0);
    const reset = await (await fetch(`${real.url}/__stats/reset`, { method: "POST" })).json();
    expect(reset).toMatchObject({ published: 0, deliveries: 0, byDestinationPath: {} });
    expect(real.stats().published).toBe(0);
  });
});
