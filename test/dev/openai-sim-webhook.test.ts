// dev/openai-sim webhooks: signed per Standard Webhooks, checked with the SDK's webhooks.unwrap and the inbox.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type InboxHandle, startInbox } from "../../dev/inbox/server.ts";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";

const MODEL = "gpt-4.1-mini";
const SCALE = 0.1;
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const OTHER_SECRET = `whsec_${randomBytes(32).toString("base64")}`;

type Received = { raw: string; headers: Record<string, string>; at: number };

let receiver: http.Server;
let receiverUrl = "";
const received: Received[] = [];
let sim: OpenAISimHandle;
let client: OpenAI;
let inbox: InboxHandle;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.push({ raw: Buffer.concat(chunks).toString("utf8"), headers, at: Date.now() });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/openai`;
  sim = await startOpenAISim({ timeScale: SCALE, webhook: { url: receiverUrl, secret: SECRET } });
  client = new OpenAI({ baseURL: sim.baseURL, apiKey: sim.apiKey, maxRetries: 0 });
  inbox = await startInbox();
});

afterAll(async () => {
  await sim?.close();
  await inbox?.close();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

beforeEach(() => {
  sim.reset();
  received.length = 0;
  sim.setWebhook({ url: receiverUrl, secret: SECRET });
});

async function nextWebhook(): Promise<Received> {
  for (let i = 0; i < 200 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const first = received.shift();
  if (!first) throw new Error("no webhook arrived");
  return first;
}

describe("webhooks", () => {
  it("sends response.completed that webhooks.unwrap accepts with the right secret only", async () => {
    const created = await client.responses.create({ model: MODEL, input: "hello", background: true });
    const hook = await nextWebhook();
    const event = (await client.webhooks.unwrap(hook.raw, hook.headers, SECRET)) as {
      type: string;
      object: string;
      data: { id: string };
      id: string;
      created_at: number;
    };
    expect(event).toMatchObject({ object: "event", type: "response.completed", data: { id: created.id } });
    expect(event.id).toMatch(/^evt_/);
    await expect(client.webhooks.unwrap(hook.raw, hook.headers, OTHER_SECRET)).rejects.toBeInstanceOf(
      OpenAI.InvalidWebhookSignatureError,
    );
    await expect(
      client.webhooks.unwrap(hook.raw.replace(created.id, "resp_forged"), hook.headers, SECRET),
    ).rejects.toBeInstanceOf(OpenAI.InvalidWebhookSignatureError);
    // Sent the moment the response finished (what benchmarks measure from).
    const info = (await (await fetch(`${sim.url}/__sim/responses/${created.id}`)).json()) as {
      completed_at_ms: number;
    };
    expect(hook.at - info.completed_at_ms).toBeLessThan(200);
    expect((await client.responses.retrieve(created.id)).status).toBe("completed");
  });

  it("sends response.failed, response.incomplete and response.cancelled", async () => {
    const failed = await client.responses.create({
      model: MODEL,
      input: 'x #sim {"fail": {"code": "server_error", "message": "m"}, "delay_ms": 100}',
      background: true,
    });
    expect(JSON.parse((await nextWebhook()).raw)).toMatchObject({
      type: "response.failed",
      data: { id: failed.id },
    });
    const incomplete = await client.responses.create({
      model: MODEL,
      input: 'x #sim {"incomplete": "content_filter", "delay_ms": 100}',
      background: true,
    });
    expect(JSON.parse((await nextWebhook()).raw)).toMatchObject({
      type: "response.incomplete",
      data: { id: incomplete.id },
    });
    const running = await client.responses.create({
      model: MODEL,
      input: 'x #sim {"delay_ms": 5000}',
      background: true,
    });
    await client.responses.cancel(running.id);
    expect(JSON.parse((await nextWebhook()).raw)).toMatchObject({
      type: "response.cancelled",
      data: { id: running.id },
    });
  });

  it("sends nothing for synchronous responses", async () => {
    await client.responses.create({ model: MODEL, input: 'x #sim {"delay_ms": 0}' });
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toHaveLength(0);
  });

  it("is verified by the inbox, and retried with the same webhook-id after a failure", async () => {
    inbox.reset();
    inbox.failNext(1, 503);
    sim.setWebhook({ url: `${inbox.url}/openai`, secret: inbox.secret });
    const created = await client.responses.create({ model: MODEL, input: "hi", background: true });
    const deliveries = await inbox.waitFor(2, { path: "/openai", timeoutMs: 5000 });
    expect(deliveries.map((d) => d.answered_status)).toEqual([503, 200]);
    expect(deliveries.every((d) => d.verified)).toBe(true);
    expect(deliveries[0]?.webhook_id).toBe(deliveries[1]?.webhook_id);
    expect(deliveries[1]?.body).toMatchObject({ type: "response.completed", data: { id: created.id } });
    // The inbox records a delivery before answering it, so the sender's count can lag a moment.
    await vi.waitFor(() => expect(sim.stats().webhooks).toEqual({ attempts: 2, delivered: 1, failed: 0 }));
  });
});
