/**
 * The typed client (client/) against the local stack with the Worker in workerd: every method of
 * the webhook API, assistants, a tenant's account and the operator API, typed errors, and
 * `verifyWebhook` on real callbacks — signed with the tenant's secret, with both secrets during a
 * rotation, refused with an unknown one or a tampered body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Threadhook, ThreadhookError, verifyWebhook, type WebhookEvent } from "../../client/src/index";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { registerSecrets } from "../support/log-capture/registry.ts";

let e2e: E2E;
let operator: Threadhook;
let admin: Threadhook;
let tenantId: string;
let tenantSecret: string;

beforeAll(async () => {
  e2e = await startE2E({ workerVars: { REQUIRES_ACTION_TIMEOUT_S: "30" } });
  operator = new Threadhook({ apiKey: e2e.stack.ready.operatorKey as string, baseUrl: e2e.worker });
}, 120_000);
afterAll(() => e2e?.close());

const script = (s: unknown) => `go #sim ${JSON.stringify(s)}`;
const fn = (name: string) => ({
  type: "function" as const,
  function: { name, parameters: { type: "object", properties: {} } },
});

async function waitFor(client: Threadhook, runId: string, statuses: string[]) {
  const until = Date.now() + 30_000;
  for (;;) {
    const run = await client.getRun(runId);
    if (statuses.includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("typed client", () => {
  it("the operator API: tenants, their keys, usage and secrets", async () => {
    const created = await operator.adminCreateTenant({ name: "client-test", limits: { monthly_runs: 1000 } });
    registerSecrets({ [`tenant ${created.id} webhook secret`]: created.webhook_secret });
    tenantId = created.id;
    tenantSecret = created.webhook_secret;
    expect(created).toMatchObject({ object: "tenant", name: "client-test" });
    expect((await operator.adminGetTenant(tenantId)).id).toBe(tenantId);
    expect((await operator.adminListTenants({ limit: 100 })).data.map((t) => t.id)).toContain(tenantId);
    expect((await operator.adminUpdateTenant(tenantId, { name: "renamed" })).name).toBe("renamed");
    expect(
      (await operator.adminPatchTenant(tenantId, { limits: { max_active_runs: 5 } })).limits.max_active_runs,
    ).toBe(5);
    const key = await operator.adminCreateKey(tenantId, { role: "admin", name: "client" });
    registerSecrets({ [`key ${key.id}`]: key.key });
    expect(key).toMatchObject({ object: "api_key", role: "admin" });
    const spare = await operator.adminCreateKey(tenantId, { role: "member" });
    registerSecrets({ [`key ${spare.id}`]: spare.key });
    expect((await operator.adminListKeys(tenantId)).data.map((k) => k.id)).toEqual(
      expect.arrayContaining([key.id, spare.id]),
    );
    expect((await operator.adminRevokeKey(tenantId, spare.id)).revoked_at).not.toBeNull();
    expect((await operator.adminGetUsage(tenantId)).object).toBe("usage");
    const rotated = await operator.adminRotateWebhookSecret(tenantId, { window_s: 0 });
    registerSecrets({ [`tenant ${tenantId} rotated secret`]: rotated.webhook_secret });
    tenantSecret = rotated.webhook_secret;
    admin = new Threadhook({ apiKey: key.key, baseUrl: e2e.worker });
  });

  it("the webhook API: send, read, steps, conversation, redeliver — the callback verifies as a typed event", async () => {
    const assistant = await admin.createAssistant({
      model: "gpt-sim",
      instructions: "Be brief.",
      tools: [fn("lookup")],
    });
    expect((await admin.getAssistant(assistant.id)).id).toBe(assistant.id);
    expect((await admin.modifyAssistant(assistant.id, { name: "helper" })).name).toBe("helper");
    expect((await admin.listAssistants()).data.map((a) => a.id)).toContain(assistant.id);

    const path = hookPath("client");
    const conversation = `client:${Date.now()}`;
    const accepted = await admin.sendMessage({
      assistant_id: assistant.id,
      conversation,
      input: "hello",
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(accepted.status).toBe("queued");
    expect(accepted.links.self).toBe(`/v1/runs/${accepted.id}`);
    const done = await waitFor(admin, accepted.id, ["completed"]);
    expect((await admin.listRunSteps(done.id)).data.map((s) => s.type)).toContain("message_creation");
    expect((await admin.getConversation(conversation)).id).toBe(done.thread_id);

    const [delivery] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    const event: WebhookEvent = await verifyWebhook(
      delivery?.raw as string,
      delivery?.headers ?? {},
      tenantSecret,
    );
    expect(event.type).toBe("run.completed");
    if (event.type === "run.completed") expect(event.data.run.id).toBe(accepted.id);
    // The run's event feed ends with the same event (same id as the callback's webhook-id).
    const feed = [];
    for await (const e of admin.streamRunEvents(done.id)) feed.push(e);
    expect(feed.at(-1)?.type).toBe("run.completed");
    expect(feed.at(-1)?.id).toBe(delivery?.webhook_id);
    // Schedules: create (paused, so it never fires here), read, list, change, delete.
    const schedule = await admin.createSchedule({
      cron: "0 9 * * 1",
      timezone: "Europe/Berlin",
      enabled: false,
      assistant_id: assistant.id,
      input: "weekly digest for {{date}}",
      callback_url: `${e2e.inbox.url}${path}-schedule`,
    });
    expect(schedule).toMatchObject({ object: "schedule", enabled: false, timezone: "Europe/Berlin" });
    expect((await admin.getSchedule(schedule.id)).cron).toBe("0 9 * * 1");
    expect((await admin.listSchedules()).data.map((s) => s.id)).toContain(schedule.id);
    expect((await admin.updateSchedule(schedule.id, { cron: "30 8 * * 1" })).cron).toBe("30 8 * * 1");
    expect(await admin.deleteSchedule(schedule.id)).toMatchObject({ id: schedule.id, deleted: true });
    // An unknown secret and a tampered body are refused.
    const unknown = `whsec_${Buffer.alloc(32, 3).toString("base64")}`;
    await expect(
      verifyWebhook(delivery?.raw as string, delivery?.headers ?? {}, unknown),
    ).rejects.toMatchObject({
      reason: "bad_signature",
    });
    const tampered = (delivery?.raw as string).replace("run.completed", "run.cancelled");
    await expect(verifyWebhook(tampered, delivery?.headers ?? {}, tenantSecret)).rejects.toMatchObject({
      reason: "bad_signature",
    });

    // Redelivery, signed again; during a rotation with one signature per live secret.
    const rotated = await admin.rotateWebhookSecret({ window_s: 300 });
    registerSecrets({ "rotated client secret": rotated.webhook_secret });
    expect(rotated.secrets.length).toBe(2);
    expect((await admin.redeliverRun(accepted.id)).id).toBe(accepted.id);
    const again = await e2e.inbox.waitFor(2, { path, timeoutMs: 20_000 });
    const second = again[1];
    expect((await verifyWebhook(second?.raw as string, second?.headers ?? {}, tenantSecret)).type).toBe(
      "run.completed",
    );
    expect(
      (await verifyWebhook(second?.raw as string, second?.headers ?? {}, [rotated.webhook_secret])).type,
    ).toBe("run.completed");

    expect(await admin.forgetConversation(conversation)).toMatchObject({ deleted: true });
  });

  it("tool outputs and cancel", async () => {
    const assistant = await admin.createAssistant({ model: "gpt-sim", tools: [fn("lookup")] });
    const callback_url = `${e2e.inbox.url}${hookPath("client-tools")}`;
    const waiting = await admin.sendMessage({
      assistant_id: assistant.id,
      input: script({ tool_calls: [{ name: "lookup", arguments: {} }] }),
      callback_url,
    });
    const asking = await waitFor(admin, waiting.id, ["requires_action"]);
    const call = asking.required_action?.submit_tool_outputs.tool_calls[0];
    expect(call?.function.name).toBe("lookup");
    const answered = await admin.submitToolOutputs(waiting.id, [
      { tool_call_id: call?.id as string, output: "42" },
    ]);
    expect(answered.id).toBe(waiting.id);
    await waitFor(admin, waiting.id, ["completed"]);

    const slow = await admin.sendMessage({
      assistant_id: assistant.id,
      input: script({ delay_ms: 100_000 }),
      callback_url,
    });
    await admin.cancelRun(slow.id);
    expect((await waitFor(admin, slow.id, ["cancelled"])).status).toBe("cancelled");
    expect(await admin.deleteAssistant(assistant.id)).toMatchObject({ deleted: true });
  });

  it("a tenant's own account: keys, usage; errors as typed exceptions", async () => {
    const key = await admin.createKey({ role: "member", rate_limit_per_min: 1 });
    registerSecrets({ [`key ${key.id}`]: key.key });
    expect((await admin.listKeys()).data.map((k) => k.id)).toContain(key.id);
    const usage = await admin.getUsage();
    expect(usage.object).toBe("usage");

    const missing = await admin.getRun("run_doesnotexist").catch((e) => e);
    expect(missing).toBeInstanceOf(ThreadhookError);
    expect(missing).toMatchObject({ status: 404, type: "not_found_error", code: "run_not_found" });
    const invalid = await admin
      .sendMessage({ assistant_id: "asst_x", input: "", callback_url: "http://127.0.0.1:9/x" })
      .catch((e) => e);
    expect(invalid).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect(invalid.param).toBeTruthy();

    // One request a minute: the second is a 429 with Retry-After (no retries asked for).
    const limited = new Threadhook({ apiKey: key.key, baseUrl: e2e.worker, maxRetries: 0 });
    await limited.listAssistants();
    const refused = await limited.listAssistants().catch((e) => e);
    expect(refused).toMatchObject({ status: 429, type: "rate_limit_error" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await admin.revokeKey(key.id)).revoked_at).not.toBeNull();
  });
});
