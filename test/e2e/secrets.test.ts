/**
 * Issue 17: secret-bearing fields are write-only. A canary value is set through every secret-bearing
 * field of every route that takes one (the route table's `secretBody`), and then must never come
 * back: not in the answer to the write itself, not from any GET route of the table, not in a
 * callback body, not in an Assistants SSE stream, and not in a log line (the canary is registered
 * with the suite's log check). Where it is meant to go — the tool endpoint's and the callback's
 * request headers — it arrives, also after a client sent the masked values back in a modify.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASKED } from "../../src/engine/secrets";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { fileFixtures, integrationFixture, scheduleFixture } from "../support/files";
import { registerSecrets } from "../support/log-capture/registry.ts";
import { label, ROUTES, type TenantIds } from "../support/routes";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => e2e?.close());

const canary = `canary-${randomBytes(12).toString("hex")}`;
registerSecrets({ secretFieldCanary: canary });

/** Everything an answer carried, as text. */
const text = (r: { body: unknown; headers: Headers }) =>
  `${typeof r.body === "string" ? r.body : JSON.stringify(r.body)} ${JSON.stringify([...r.headers])}`;

describe("secret-bearing fields", () => {
  it("never return a value set through them, on any route, callback, stream or log", async () => {
    const path = hookPath("secrets");
    const callbackUrl = `${e2e.inbox.url}${path}`;
    e2e.inbox.setBehaviour({ path: `${path}/tool`, body: { output: "tool ran" } });
    const assistant = await e2e.createAssistant({ name: "canary" });
    const thread = await e2e.api("POST", "/v1/threads", {});
    const conversation = `secrets:${Date.now()}`;
    const member = await e2e.admin("POST", "/v1/admin/tenants/default/keys", { role: "member" });
    registerSecrets({ secretsMember: member.body.key });
    const ids: TenantIds = {
      assistant: assistant.id,
      thread: thread.body.id,
      run: "",
      conversation,
      message: "",
      key: member.body.id,
      callbackUrl,
      ...(await fileFixtures(
        (p, init) => fetch(`${e2e.worker}${p}`, init),
        e2e.stack.ready.apiKey as string,
        "secrets",
      )),
      ...(await scheduleFixture(
        (p, init) => fetch(`${e2e.worker}${p}`, init),
        e2e.stack.ready.apiKey as string,
        assistant.id,
        callbackUrl,
      )),
      ...(await integrationFixture(
        (p, init) => fetch(`${e2e.worker}${p}`, init),
        e2e.stack.ready.apiKey as string,
        assistant.id,
      )),
    };

    const writes = ROUTES.filter((r) => r.secretBody);
    expect(writes.map(label)).toEqual([
      "POST /v1/assistants",
      "POST /v1/assistants/{assistant}",
      "PATCH /v1/assistants/{assistant}",
      "POST /v1/messages",
      "POST /v1/threads/runs",
      "POST /v1/threads/{thread}/runs",
      "POST /v1/integrations",
      "PATCH /v1/integrations/{integration}",
    ]);
    const runIds: string[] = [];
    for (const route of writes) {
      const body = route.secretBody?.(ids, canary) as Record<string, unknown>;
      if (route.path(ids) === "/v1/messages") body.conversation = conversation;
      const r = await e2e.api(route.method, route.path(ids), body);
      expect(r.status, `${label(route)} ${text(r).slice(0, 300)}`).toBeLessThan(300);
      expect(text(r), label(route)).not.toContain(canary);
      if (typeof r.body === "object" && r.body.object === "thread.run") runIds.push(r.body.id);
      // The integration the canary went into is the one the later rows (PATCH, GETs) name.
      if (typeof r.body === "object" && r.body.object === "integration") ids.integration = r.body.id;
      // Streams: the run objects in the events.
      if (typeof r.body === "string") {
        expect(r.body).toContain("event: done");
        runIds.push(/"id":"(run_[A-Za-z0-9]+)"/.exec(r.body)?.[1] ?? "");
      }
    }
    expect(runIds).toHaveLength(3);
    for (const id of runIds) await e2e.waitForRun(id, ["completed"], 30_000);
    const [run] = runIds;
    ids.run = run as string;
    ids.thread = (await e2e.api("GET", `/v1/runs/${run}`)).body.thread_id;
    ids.message = (await e2e.api("GET", `/v1/threads/${ids.thread}/messages`)).body.data[0].id;

    // Every GET route of the table, over the objects that carry the canary.
    const reads = ROUTES.filter((r) => r.method === "GET");
    expect(reads.length).toBeGreaterThanOrEqual(12);
    for (const route of reads) {
      const r = await e2e.api("GET", route.path(ids));
      expect(text(r), label(route)).not.toContain(canary);
    }
    // Names shown, values masked.
    const shown = (await e2e.api("GET", `/v1/runs/${run}`)).body;
    expect(shown.tools[0].endpoint.headers).toEqual({ "x-canary": MASKED, authorization: MASKED });
    expect(shown.delivery.callback_headers).toEqual({ "x-canary": MASKED });
    const integration = (await e2e.api("GET", `/v1/integrations/${ids.integration}`)).body;
    expect(integration.credentials).toEqual({ signing_secret: MASKED, bot_token: MASKED });
    const a = (await e2e.api("GET", `/v1/assistants/${assistant.id}`)).body;
    expect(a.tools[0].endpoint.headers).toEqual({ "x-canary": MASKED, authorization: MASKED });

    // Callbacks: the canary travels as the header it was set as, never in a body.
    const callbacks = await e2e.inbox.waitFor(3, { path, timeoutMs: 10_000 });
    for (const d of callbacks) {
      expect(d.raw).not.toContain(canary);
      expect(d.headers["x-canary"]).toBe(canary);
    }
    const toolCalls = e2e.inbox.deliveries({ path: `${path}/tool` });
    expect(toolCalls.length).toBeGreaterThanOrEqual(1);
    for (const d of toolCalls) {
      expect(d.raw).not.toContain(canary);
      expect(d.headers["x-canary"]).toBe(canary);
    }
  }, 90_000);

  it("keep the stored value when a client sends the masked one back in a modify", async () => {
    const path = hookPath("masked-roundtrip");
    e2e.inbox.setBehaviour({ path: `${path}/tool`, body: { output: "tool ran" } });
    const ids = { callbackUrl: `${e2e.inbox.url}${path}` } as TenantIds;
    const created = await e2e.api("POST", "/v1/assistants", ROUTES[0]?.secretBody?.(ids, canary));
    expect(created.status).toBe(200);
    // What an SDK does: read the assistant, change something, send its tools back as they were read.
    const read = (await e2e.api("GET", `/v1/assistants/${created.body.id}`)).body;
    const modified = await e2e.api("POST", `/v1/assistants/${created.body.id}`, {
      name: "renamed",
      tools: read.tools,
    });
    expect(modified.status).toBe(200);
    const run = await e2e.api("POST", "/v1/messages", {
      assistant_id: created.body.id,
      input: `go #sim ${JSON.stringify({ tool_calls: [{ name: "canary_tool", arguments: {} }] })}`,
      callback_url: ids.callbackUrl,
    });
    expect(run.status).toBe(202);
    const [call] = await e2e.inbox.waitFor(1, { path: `${path}/tool`, timeoutMs: 15_000 });
    expect(call?.headers["x-canary"]).toBe(canary);
    expect(call?.headers.authorization).toBe(`Bearer ${canary}`);
    // A masked value with nothing stored behind it is refused, naming the field.
    const fresh = await e2e.api("POST", "/v1/messages", {
      assistant_id: created.body.id,
      input: "x",
      callback_url: ids.callbackUrl,
      tools: read.tools,
    });
    expect({ status: fresh.status, code: fresh.body.error?.code, param: fresh.body.error?.param }).toEqual({
      status: 400,
      code: "masked_value",
      param: "tools.0.endpoint.headers.x-canary",
    });
  }, 60_000);
});
