/**
 * Issue 7 limits, end to end: per-key rate limits, the per-tenant cap on active runs (excess runs
 * wait, then all complete in order), monthly quotas, and usage that matches the model's own counts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    workerVars: { MODEL_PRICES: JSON.stringify({ "gpt-sim": { input: 2, output: 8 } }) },
  });
});
afterAll(async () => e2e?.close());

const send = (api: Api, assistantId: string, input: string, extra: Record<string, unknown> = {}) =>
  api("POST", "/v1/messages", {
    assistant_id: assistantId,
    input,
    callback_url: `${e2e.inbox.url}${hookPath("limits")}`,
    ...extra,
  });

describe("rate limits", () => {
  it("counts each key on its own and answers 429 with Retry-After and RateLimit-* headers", async () => {
    const tenant = await e2e.createTenant();
    const limited = await tenant.issue("member", { rate_limit_per_min: 5 });
    const other = await tenant.issue("member", { rate_limit_per_min: 5 });
    // The limiter's sliding window weighs the previous minute (epoch-aligned) less as the new one goes
    // on: a burst that straddles a boundary can get a sixth request through. Start clear of one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await limited.api("GET", "/v1/assistants"));
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(seen.map((r) => r.headers.get("ratelimit-remaining"))).toEqual(["4", "3", "2", "1", "0", "0"]);
    expect(seen[0]?.headers.get("ratelimit-limit")).toBe("5");
    const refused = seen[5];
    expect(refused?.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limited" });
    const retryAfter = Number(refused?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number(refused?.headers.get("ratelimit-reset"))).toBeLessThanOrEqual(60);
    expect((await other.api("GET", "/v1/assistants")).status).toBe(200);
  });
});

describe("active-run cap per tenant", () => {
  it("lets excess runs wait instead of refusing them, keeps at most the cap running, and starts them in order", async () => {
    const tenant = await e2e.createTenant({ limits: { max_active_runs: 2 } });
    const admin = await tenant.issue("admin");
    const assistant = await e2e.createAssistant({}, admin.api);
    const sent = [];
    for (let i = 0; i < 6; i++) {
      // Each on its own thread: only the tenant cap can make them wait. 400 ms each (time scale 0.01).
      sent.push(
        await send(admin.api, assistant.id, `job ${i} #sim {"delay_ms": 40000}`, {
          conversation: `cap:${i}:${Date.now()}`,
        }),
      );
    }
    expect(sent.map((r) => r.status)).toEqual([202, 202, 202, 202, 202, 202]);
    const runs = await Promise.all(
      sent.map((r) => e2e.waitForRun(r.body.id, ["completed"], 30_000, admin.api)),
    );
    const at = (run: any, status: string) =>
      Date.parse(run.timeline.find((t: any) => t.status === status).at);
    const spans = runs.map((run) => ({ start: at(run, "in_progress"), end: at(run, "completed") }));
    for (const s of spans) {
      const overlapping = spans.filter((o) => o.start <= s.start && o.end > s.start).length;
      expect(overlapping).toBeLessThanOrEqual(2);
    }
    const startOrder = [...spans.keys()].sort((x, y) => (spans[x]?.start ?? 0) - (spans[y]?.start ?? 0));
    // Slots are handed on in the order runs came, two at a time: within a pair the two start steps
    // are separate QStash deliveries and either may claim its run first (on a loaded machine, too).
    const pairs = [0, 2, 4].map((i) => startOrder.slice(i, i + 2).sort((a, b) => a - b));
    expect(pairs).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    // The third run waited for one of the first two to end.
    expect(spans[2]?.start).toBeGreaterThanOrEqual(Math.min(spans[0]?.end ?? 0, spans[1]?.end ?? 0));
    expect(runs.map((r) => r.output.text)).toEqual(sent.map((_, i) => `echo: job ${i}`));
  });
});

describe("monthly quotas", () => {
  it("refuses runs over the monthly run quota with 429 quota_exceeded", async () => {
    const tenant = await e2e.createTenant({ limits: { monthly_runs: 2 } });
    const admin = await tenant.issue("admin");
    const assistant = await e2e.createAssistant({}, admin.api);
    expect((await send(admin.api, assistant.id, "one")).status).toBe(202);
    expect((await send(admin.api, assistant.id, "two")).status).toBe(202);
    const third = await send(admin.api, assistant.id, "three");
    expect({ status: third.status, code: third.body.error.code }).toEqual({
      status: 429,
      code: "quota_exceeded",
    });
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    const raised = await e2e.admin("PATCH", `/v1/admin/tenants/${tenant.id}`, {
      limits: { monthly_runs: 3 },
    });
    expect(raised.body.limits.monthly_runs).toBe(3);
    expect((await send(admin.api, assistant.id, "three")).status).toBe(202);
    expect((await admin.api("GET", "/v1/usage")).body.runs).toBe(3);
  });

  it("refuses runs once the month's tokens reach the token quota", async () => {
    const tenant = await e2e.createTenant({ limits: { monthly_tokens: 5 } });
    const admin = await tenant.issue("admin");
    const assistant = await e2e.createAssistant({}, admin.api);
    const first = await send(admin.api, assistant.id, "count my tokens");
    expect(first.status).toBe(202);
    await e2e.waitForRun(first.body.id, ["completed"], 20_000, admin.api);
    const until = Date.now() + 10_000;
    let second = await send(admin.api, assistant.id, "and again");
    while (second.status === 202 && Date.now() < until) {
      // Tokens are counted when the run has let go of its thread, just after it completes.
      await new Promise((r) => setTimeout(r, 50));
      second = await send(admin.api, assistant.id, "and again");
    }
    expect({ status: second.status, code: second.body.error.code }).toEqual({
      status: 429,
      code: "quota_exceeded",
    });
    expect(second.body.error.message).toContain("5 tokens");
  });
});

describe("token quota when a run starts", () => {
  it("fails each queued run that would start once the quota is reached, says so in run.failed, and frees the thread", async () => {
    const tenant = await e2e.createTenant({ limits: { monthly_tokens: 5 } });
    const admin = await tenant.issue("admin");
    const assistant = await e2e.createAssistant({}, admin.api);
    const conversation = `quota-start:${Date.now()}`;
    const path = hookPath("quota-start");
    const sendOn = (input: string) =>
      admin.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        input,
        conversation,
        callback_url: `${e2e.inbox.url}${path}`,
      });
    // The first run holds the thread for a while (400 ms at time scale 0.01); two more queue behind
    // it, accepted because no tokens are counted yet.
    const first = await sendOn('first #sim {"delay_ms": 40000}');
    const queued = [await sendOn("second"), await sendOn("third")];
    expect([first.status, ...queued.map((r) => r.status)]).toEqual([202, 202, 202]);
    expect((await e2e.waitForRun(first.body.id, ["completed"], 20_000, admin.api)).status).toBe("completed");
    const ended = await Promise.all(
      queued.map((r) => e2e.waitForRun(r.body.id, ["completed", "failed"], 20_000, admin.api)),
    );
    expect(ended.map((r) => [r.status, r.last_error?.code])).toEqual([
      ["failed", "quota_exceeded"],
      ["failed", "quota_exceeded"],
    ]);
    expect(ended[0].last_error.message).toContain("5 tokens");
    const deliveries = await e2e.inbox.waitFor(3, { path, timeoutMs: 15_000 });
    const failed = deliveries.map((d) => d.body as any).filter((b) => b.type === "run.failed");
    expect(failed.map((b) => [b.data.run.id, b.data.run.last_error?.code]).sort()).toEqual(
      queued.map((r) => [r.body.id, "quota_exceeded"]).sort(),
    );
    // No model tokens were spent on them: the month holds the first run's tokens only.
    const usage = (await admin.api("GET", "/v1/usage")).body;
    const firstRun = await admin.api("GET", `/v1/runs/${first.body.id}`);
    expect(usage.input_tokens + usage.output_tokens).toBe(firstRun.body.usage.total_tokens);
    // The thread and the slot were let go: with the quota raised, the conversation runs again.
    await e2e.admin("PATCH", `/v1/admin/tenants/${tenant.id}`, { limits: { monthly_tokens: 1_000_000 } });
    const again = await sendOn("fourth");
    expect(again.status).toBe(202);
    expect((await e2e.waitForRun(again.body.id, ["completed", "failed"], 20_000, admin.api)).status).toBe(
      "completed",
    );
  });
});

describe("usage", () => {
  it("matches the model's token counts, per model, with the estimated cost", async () => {
    const tenant = await e2e.createTenant();
    const admin = await tenant.issue("admin");
    const toolPath = hookPath("usage-tool");
    e2e.inbox.setBehaviour({ path: toolPath, body: { output: "tool says hi" } });
    const assistant = await e2e.createAssistant(
      {
        tools: [
          { type: "function", function: { name: "check" }, endpoint: { url: `${e2e.inbox.url}${toolPath}` } },
        ],
      },
      admin.api,
    );
    const inputs = [
      "short",
      "a somewhat longer question about many things",
      'tool #sim {"tool_calls":[{"name":"check","arguments":{}}]}',
    ];
    const sent = [];
    for (const input of inputs) sent.push(await send(admin.api, assistant.id, input));
    sent.push(await send(admin.api, assistant.id, "other model", { model: "gpt-sim-mini" }));
    const runs = await Promise.all(
      sent.map((r) => e2e.waitForRun(r.body.id, ["completed"], 20_000, admin.api)),
    );

    const base = e2e.stack.ready.openai.baseURL;
    const list = ((await (await fetch(`${base.replace(/\/v1$/, "")}/__sim/responses`)).json()) as any).data;
    const ours = list.filter((r: any) => runs.some((run) => run.id === r.metadata?.threadhook_run));
    expect(ours).toHaveLength(5); // the tool run made two responses
    const counted = await Promise.all(
      ours.map(async (r: any) => {
        const res = await fetch(`${base}/responses/${r.id}`, {
          headers: { authorization: `Bearer ${e2e.stack.ready.openai.apiKey}` },
        });
        return { run: r.metadata.threadhook_run, usage: ((await res.json()) as any).usage };
      }),
    );
    const sum = (pick: (c: (typeof counted)[number]) => boolean, field: string) =>
      counted.filter(pick).reduce((n, c) => n + c.usage[field], 0);
    const all = () => true;
    const mini = (c: { run: string }) => c.run === runs[3].id;

    const until = Date.now() + 10_000;
    let usage = (await admin.api("GET", "/v1/usage")).body;
    while (usage.output_tokens < sum(all, "output_tokens") && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      usage = (await admin.api("GET", "/v1/usage")).body;
    }
    expect(usage).toMatchObject({
      object: "usage",
      tenant: tenant.id,
      month: new Date().toISOString().slice(0, 7),
      runs: 4,
      input_tokens: sum(all, "input_tokens"),
      output_tokens: sum(all, "output_tokens"),
      unpriced_models: ["gpt-sim-mini"],
    });
    const sim = usage.models.find((m: any) => m.model === "gpt-sim");
    expect(sim).toEqual({
      model: "gpt-sim",
      runs: 3,
      input_tokens: sum((c) => !mini(c), "input_tokens"),
      output_tokens: sum((c) => !mini(c), "output_tokens"),
      estimated_cost_usd:
        (sum((c) => !mini(c), "input_tokens") * 2 + sum((c) => !mini(c), "output_tokens") * 8) / 1e6,
    });
    expect(usage.estimated_cost_usd).toBe(sim.estimated_cost_usd);
    // Each run's own usage adds up to the same.
    expect(runs.reduce((n, r) => n + r.usage.prompt_tokens, 0)).toBe(usage.input_tokens);
    // The operator sees the same; another month is empty.
    expect((await e2e.admin("GET", `/v1/admin/tenants/${tenant.id}/usage`)).body.output_tokens).toBe(
      usage.output_tokens,
    );
    expect((await admin.api("GET", "/v1/usage?month=2020-01")).body).toMatchObject({ runs: 0, models: [] });
    expect((await admin.api("GET", "/v1/usage?month=2020-13")).status).toBe(400);
  });
});
