/**
 * The webhook drive strategy: OpenAI's signed `response.completed` webhook wakes the run at once;
 * forged, missing, repeated or late webhooks change nothing. Real time (time scale 1), so the
 * 20-second safety-net poll cannot be what finishes a run here.
 */
import { randomBytes } from "node:crypto";
import { Client } from "@upstash/qstash";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const FORGER = `whsec_${randomBytes(32).toString("base64")}`;

let e2e: E2E;
let assistantId: string;
beforeAll(async () => {
  e2e = await startE2E({
    timeScale: 1,
    openaiDelayMs: 300,
    // No DRIVE_STRATEGY: the default, auto, takes the webhook strategy once the secret is set.
    workerVars: { OPENAI_WEBHOOK_SECRET: SECRET },
  });
  e2e.stack.openai.setWebhook({ url: `${e2e.worker}/webhooks/openai`, secret: SECRET });
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => e2e?.close());

const send = (path: string, input: string) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    input,
    callback_url: `${e2e.inbox.url}${path}`,
  });
const simStats = async () => (await fetch(`${e2e.stack.openai.url}/__sim/stats`)).json() as Promise<any>;
const gets = (s: any) => s.byEndpoint["GET /v1/responses/{id}"] ?? 0;
let stepsBefore = 0;
async function waitFor<T>(probe: () => Promise<T | null | undefined>, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
/**
 * Wait until nothing moves: no webhook of the simulator in flight, and the counters this file's
 * assertions compare (webhooks, GETs of responses, QStash publishes and deduplications) unchanged
 * for a second. An earlier test's late webhook (a cancelled run's) must land before a baseline.
 */
async function quiet(timeoutMs = 30_000): Promise<void> {
  const probe = async () => {
    const sim = await simStats();
    const q = e2e.stack.qstash.stats();
    const inFlight = sim.webhooks.attempts - sim.webhooks.delivered - sim.webhooks.failed;
    return { inFlight, key: JSON.stringify([sim.webhooks, gets(sim), q.published, q.deduplicated]) };
  };
  const until = Date.now() + timeoutMs;
  let last = await probe();
  let stableSince = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await probe();
    if (now.key !== last.key || now.inFlight > 0) stableSince = Date.now();
    else if (Date.now() - stableSince >= 1_000) return;
    if (Date.now() > until) throw new Error("the stack did not settle in time");
    last = now;
  }
}
const responseOf = async (runId: string) => {
  const { data } = (await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as { data: any[] };
  return data.find((r) => r.metadata?.threadhook_run === runId);
};
const signed = (secret: string, body: string, id = `wh_${randomBytes(8).toString("hex")}`) => {
  const at = new Date();
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, at, body),
  };
};
const postWebhook = (body: string, headers: Record<string, string>) =>
  fetch(`${e2e.worker}/webhooks/openai`, { method: "POST", body, headers });
const ended = (responseId: string) =>
  JSON.stringify({
    id: `evt_${randomBytes(6).toString("hex")}`,
    object: "event",
    created_at: 1,
    type: "response.completed",
    data: { id: responseId },
  });

describe("webhook drive strategy", () => {
  it("delivers the callback right after the model finishes, with one poll of the response", async () => {
    const health = await fetch(`${e2e.worker}/health`, {
      headers: { authorization: `Bearer ${e2e.stack.ready.operatorKey}` },
    });
    expect(((await health.json()) as any).drive_strategy).toBe("webhook");
    const before = await simStats();
    const path = hookPath("wh-fast");
    const sent = Date.now();
    const res = await send(path, "quick one");
    expect(res.status).toBe(202);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 5_000 });
    expect((d?.body as any).data.run.output.text).toBe("echo: quick one");
    const response = await responseOf(res.body.id);
    // Well before the first safety-net poll (20 s): the webhook woke the run.
    expect((d?.received_at_ms ?? 0) - sent).toBeLessThan(3_000);
    expect((d?.received_at_ms ?? 0) - response.completed_at_ms).toBeLessThan(1_000);
    expect(gets(await simStats()) - gets(before)).toBe(1);
    expect(response.metadata.threadhook_tenant).toBe("default");
  });

  it("refuses forged and unsigned webhooks with 401 and changes nothing", async () => {
    const path = hookPath("wh-forged");
    stepsBefore = e2e.stack.qstash.stats().byDestinationPath["/internal/steps/drive"] ?? 0;
    const res = await send(path, 'slow one #sim {"delay_ms": 60000}');
    const response = await waitFor(() => responseOf(res.body.id));
    await waitFor(
      async () =>
        e2e.stack.qstash.stats().byDestinationPath["/internal/steps/drive"] === stepsBefore + 1 || null,
    );
    // The start step is counted when QStash delivers it, before it has saved: let it (and the
    // previous test's webhooks) finish, or the snapshots below catch them midway (failed under load).
    await quiet();
    const run = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body;
    const [qBefore, simBefore] = [e2e.stack.qstash.stats(), await simStats()];
    const body = ended(response.id);
    expect((await postWebhook(body, signed(FORGER, body))).status).toBe(401);
    expect((await postWebhook(body, { "content-type": "application/json" })).status).toBe(401);
    const tampered = signed(SECRET, body);
    expect((await postWebhook(body.replace("completed", "failed"), tampered)).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(e2e.stack.qstash.stats().published).toBe(qBefore.published);
    expect(gets(await simStats())).toBe(gets(simBefore));
    expect((await e2e.api("GET", `/v1/runs/${res.body.id}`)).body).toEqual(run);
    await e2e.api("POST", `/v1/runs/${res.body.id}/cancel`);
    await e2e.inbox.waitFor(1, { path, timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 500)); // the response.cancelled webhook's step lands too
  });

  it("a webhook sent twice, and one arriving after the run ended, change nothing", async () => {
    const path = hookPath("wh-dup");
    const res = await send(path, "twice");
    await e2e.inbox.waitFor(1, { path, timeoutMs: 5_000 });
    await e2e.waitForRun(res.body.id, ["completed"]);
    // The delivery step saves its attempt just after the inbox has the callback: wait for that too.
    const done = await waitFor(async () => {
      const run = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body;
      return run.delivery?.state === "delivered" ? run : null;
    });
    const responseId = (await responseOf(res.body.id)).id;
    // The run's own webhook, and the previous test's cancelled one, must have landed first.
    await quiet();
    const settled = (await e2e.api("GET", `/v1/runs/${res.body.id}`)).body;
    expect(settled).toEqual(done);
    const [qBefore, simBefore] = [e2e.stack.qstash.stats(), await simStats()];
    const body = ended(responseId);
    const headers = signed(SECRET, body);
    expect((await postWebhook(body, headers)).status).toBe(200);
    expect((await postWebhook(body, headers)).status).toBe(200);
    // Past QStash's deduplication too: the observe step itself finds the run past this response.
    const qstash = new Client({ baseUrl: e2e.stack.qstash.url, token: e2e.stack.qstash.token });
    await qstash.publishJSON({
      url: `${e2e.worker}/internal/steps/observe`,
      body: { response_id: responseId },
    });
    await waitFor(async () => gets(await simStats()) > gets(simBefore) || null);
    await quiet();
    const q = e2e.stack.qstash.stats();
    expect(q.deduplicated - qBefore.deduplicated).toBe(2); // the run's own webhook came first
    // Nothing new scheduled: the only accepted publish is this test's own observe step. (Not
    // `pending`: earlier runs' safety-net polls fall due in this window and leave the queue.)
    expect(q.published - qBefore.published).toBe(1);
    expect(gets(await simStats()) - gets(simBefore)).toBe(1);
    expect(e2e.inbox.deliveries({ path })).toHaveLength(1);
    expect((await e2e.api("GET", `/v1/runs/${res.body.id}`)).body).toEqual(done);
  });

  it("ignores verified events that are not a response's end", async () => {
    const body = JSON.stringify({
      id: "evt_x",
      object: "event",
      created_at: 1,
      type: "batch.completed",
      data: { id: "batch_1" },
    });
    const r = await postWebhook(body, signed(SECRET, body));
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ outcome: "ignored", reason: "not a response.* end event" });
  });
});
