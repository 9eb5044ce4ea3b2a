// The stand-ins' fault switches (docs/local-stack.md#fault-switches), each seen through the official
// client a user runs against the real service: @upstash/redis, openai, @upstash/qstash, fetch.
import { Client, QstashError } from "@upstash/qstash";
import { Redis } from "@upstash/redis";
import OpenAI, { APIConnectionError, APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Faults, parseRules } from "../../dev/faults.ts";
import { type InboxHandle, startInbox } from "../../dev/inbox/server.ts";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";
import { type QStashHandle, startQStash } from "../../dev/qstash-server/server.ts";
import { type RedisRestHandle, startRedisRest } from "../../dev/redis-rest/server.ts";
import { workerVarsFromEnv } from "../../dev/stack.ts";
import { type Destination, startDestination } from "./qstash-server-helpers.ts";

const MODEL = "gpt-4.1-mini";

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Until the simulator has sent no webhook for 1 s and none is in flight. */
async function webhooksQuiet(sim: OpenAISimHandle): Promise<void> {
  let last = "";
  let since = Date.now();
  await until(() => {
    const w = sim.stats().webhooks;
    const key = JSON.stringify(w);
    if (key !== last || w.attempts !== w.delivered + w.failed) {
      last = key;
      since = Date.now();
    }
    return Date.now() - since >= 1_000 ? true : undefined;
  });
}

describe("the rule format", () => {
  it("refuses unknown kinds and out-of-range numbers, and draws the same faults from the same seed", () => {
    expect(() => parseRules([{ kind: "nope" }], ["a"])).toThrow(/kind must be one of a/);
    expect(() => parseRules([{ kind: "a", fraction: 2 }], ["a"])).toThrow(/fraction/);
    expect(() => parseRules([{ kind: "a", status: 200 }], ["a"])).toThrow(/status/);
    const draws = (seed: number) => {
      const f = new Faults(["a"], [{ kind: "a", fraction: 0.3 }], seed);
      return Array.from({ length: 400 }, () => (f.take("a") ? 1 : 0));
    };
    const one = draws(7);
    expect(draws(7)).toEqual(one);
    expect(draws(8)).not.toEqual(one);
    const hits = one.reduce<number>((a, b) => a + b, 0);
    expect(hits).toBeGreaterThan(80);
    expect(hits).toBeLessThan(160);
  });

  it("next: N fires exactly N times for matching subjects only", () => {
    const f = new Faults(["a"], [{ kind: "a", next: 2, match: "/x" }]);
    expect([
      f.take("a", "POST /y"),
      f.take("a", "POST /x"),
      f.take("a", "POST /x"),
      f.take("a", "POST /x"),
    ]).toEqual([null, expect.objectContaining({ kind: "a" }), expect.objectContaining({ kind: "a" }), null]);
    expect(f.state().injected).toEqual({ a: 2 });
  });

  it("npm run dev takes exactly the THREADHOOK_VAR_ variables for the Worker", () => {
    expect(
      workerVarsFromEnv({
        THREADHOOK_VAR_DRIVE_STRATEGY: "stream",
        THREADHOOK_VAR_DRIVE_BUDGET_MS: "2000",
        DRIVE_STRATEGY: "poll",
        PATH: "/bin",
        THREADHOOK_VAR_: "x",
        "THREADHOOK_VAR_bad-name": "y",
      }),
    ).toEqual({ DRIVE_STRATEGY: "stream", DRIVE_BUDGET_MS: "2000" });
  });
});

describe("Redis REST fault switches (@upstash/redis)", () => {
  let rest: RedisRestHandle;
  let redis: Redis;
  beforeAll(async () => {
    rest = await startRedisRest();
    redis = new Redis({
      url: rest.url,
      token: rest.token,
      enableAutoPipelining: false,
      retry: { retries: 0 },
    });
  });
  afterAll(() => rest.close());
  const setRules = (rules: unknown[]) =>
    fetch(`${rest.url}/__faults`, { method: "POST", body: JSON.stringify({ rules }) }).then((r) => r.json());

  it("error_before fails the command and nothing is written", async () => {
    await setRules([{ kind: "error_before", next: 1, status: 503, match: "before-key" }]);
    await expect(redis.set("before-key", "v")).rejects.toThrow(/injected error_before/);
    expect(await redis.get("before-key")).toBeNull();
  });

  it("error_after runs the command, then fails the reply: the write happened", async () => {
    await setRules([{ kind: "error_after", next: 1, status: 500, match: "after-key" }]);
    await expect(redis.incr("after-key")).rejects.toThrow(/injected error_after/);
    expect(await redis.get("after-key")).toBe(1);
  });

  it("timeout_after runs the command, holds the reply and drops the connection", async () => {
    await setRules([{ kind: "timeout_after", next: 1, delayMs: 50, match: "slow-key" }]);
    await expect(redis.set("slow-key", "written")).rejects.toThrow();
    expect(await redis.get("slow-key")).toBe("written");
    const state = await (await fetch(`${rest.url}/__faults`)).json();
    expect(state.injected).toMatchObject({ error_before: 1, error_after: 1, timeout_after: 1 });
  });

  it("a fraction fails about that share, and a bad rule is a 400", async () => {
    await setRules([{ kind: "error_before", fraction: 0.5 }]);
    let failed = 0;
    for (let i = 0; i < 60; i++) await redis.ping().catch(() => failed++);
    expect(failed).toBeGreaterThan(10);
    expect(failed).toBeLessThan(50);
    await setRules([]);
    expect(await redis.ping()).toBe("PONG");
    const bad = await fetch(`${rest.url}/__faults`, { method: "POST", body: '{"rules":[{"kind":"x"}]}' });
    expect(bad.status).toBe(400);
  });
});

describe("OpenAI stand-in fault switches (openai SDK)", () => {
  let sim: OpenAISimHandle;
  let inbox: InboxHandle;
  let client: OpenAI;
  beforeAll(async () => {
    inbox = await startInbox();
    sim = await startOpenAISim({
      timeScale: 0.1,
      webhook: { url: `${inbox.url}/openai`, secret: inbox.secret },
      faultRules: [{ kind: "http_error", next: 1, status: 429, retryAfterS: 7, match: "POST /v1/responses" }],
    });
    client = new OpenAI({ baseURL: sim.baseURL, apiKey: sim.apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await sim.close();
    await inbox.close();
  });
  const setRules = (rules: unknown[]) =>
    fetch(`${sim.url}/__faults`, { method: "POST", body: JSON.stringify({ rules }) }).then((r) => r.json());
  const simResponses = async () =>
    ((await (await fetch(`${sim.url}/__sim/responses`)).json()) as { data: { id: string; status: string }[] })
      .data;

  it("http_error (a start option) answers 429 with retry-after, then 503 without", async () => {
    const err = await client.responses.create({ model: MODEL, input: "hi" }).catch((e) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(429);
    expect(err.headers.get("retry-after")).toBe("7");
    await setRules([{ kind: "http_error", next: 1, status: 503 }]);
    const second = await client.responses.create({ model: MODEL, input: "hi" }).catch((e) => e);
    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after")).toBeNull();
    expect(await simResponses()).toHaveLength(0); // nothing ran
  });

  it("slow_create answers a create only after delayMs (a client timeout sees no answer)", async () => {
    await setRules([{ kind: "slow_create", next: 1, delayMs: 3_000 }]);
    const err = await client.responses
      .create({ model: MODEL, input: "hi" }, { timeout: 200 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
    const ok = await client.responses.create({ model: MODEL, input: "hi", background: true });
    expect(ok.id).toMatch(/^resp_/);
  });

  it("drop_after_create: the response exists and completes, the caller only sees a dropped connection", async () => {
    const conversation = await client.conversations.create({});
    const before = new Set((await simResponses()).map((r) => r.id));
    await setRules([{ kind: "drop_after_create", next: 1 }]);
    const err = await client.responses
      .create({ model: MODEL, input: "lost reply", background: true, conversation: conversation.id })
      .catch((e) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
    const orphan = (await simResponses()).find((r) => !before.has(r.id));
    expect(orphan).toBeDefined();
    // It holds the conversation while it runs, as upstream.
    const locked = await client.responses
      .create({ model: MODEL, input: "again", background: true, conversation: conversation.id })
      .catch((e) => e);
    expect(locked.code).toBe("conversation_locked");
    const done = await until(async () => {
      const r = await client.responses.retrieve(orphan?.id ?? "");
      return r.status === "completed" ? r : undefined;
    });
    expect(done.output_text).toBe("echo: lost reply");
  });

  it("cut_stream drops an SSE stream; the response runs on to completion", async () => {
    await setRules([{ kind: "cut_stream", next: 1, afterMs: 0 }]);
    const types: string[] = [];
    let id = "";
    const err = await (async () => {
      const stream = await client.responses.create({
        model: MODEL,
        input: 'cut #sim {"delay_ms": 3000}',
        stream: true,
        background: true,
      });
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === "response.created") id = event.response.id;
      }
    })().catch((e) => e);
    expect(types).not.toContain("response.completed");
    if (id === "") expect(err).toBeInstanceOf(Error);
    const all = await simResponses();
    const target = id || (all[all.length - 1]?.id ?? "");
    const done = await until(async () => {
      const r = await client.responses.retrieve(target);
      return r.status === "completed" ? r : undefined;
    });
    expect(done.status).toBe("completed");
  });

  it("webhook_duplicate sends one event twice with the same webhook-id; webhook_drop sends none", async () => {
    // Only this test's responses' events: an earlier test's response may still be told of (its
    // event can land in this window on a loaded machine).
    const about = (id: string) =>
      inbox
        .deliveries({ path: "/openai" })
        .filter((d) => (d.body as { data?: { id?: string } })?.data?.id === id);
    // A rule applies to the next webhook sent: let an earlier response's event go first.
    await webhooksQuiet(sim);
    inbox.clear();
    await setRules([{ kind: "webhook_duplicate", next: 1, delayMs: 10 }]);
    const r = await client.responses.create({ model: MODEL, input: "twice", background: true });
    const got = await until(() => (about(r.id).length >= 2 ? about(r.id) : undefined), 20_000);
    expect(got.map((d) => d.webhook_id)).toEqual([got[0]?.webhook_id, got[0]?.webhook_id]);
    const event = (await client.webhooks.unwrap(got[1]?.raw ?? "", got[1]?.headers ?? {}, inbox.secret)) as {
      data: { id: string };
    };
    expect(event.data.id).toBe(r.id);

    const attempts = sim.stats().webhooks.attempts;
    await setRules([{ kind: "webhook_drop", next: 1 }]);
    const dropped = await client.responses.create({ model: MODEL, input: "never told", background: true });
    await until(async () =>
      (await client.responses.retrieve(dropped.id)).status === "completed" ? true : undefined,
    );
    await until(() => ((sim.faults.state().injected.webhook_drop ?? 0) === 1 ? true : undefined));
    expect(sim.stats().webhooks.attempts).toBe(attempts);
    expect(about(dropped.id)).toHaveLength(0);
  });

  it("webhook_delay sends the event late", async () => {
    inbox.clear();
    await setRules([{ kind: "webhook_delay", next: 1, delayMs: 1_500 }]);
    const r = await client.responses.create({ model: MODEL, input: "late", background: true });
    const [delivery] = await inbox.waitFor(1, { path: "/openai", timeoutMs: 20_000 });
    const info = await (await fetch(`${sim.url}/__sim/responses/${r.id}`)).json();
    expect((delivery?.received_at_ms ?? 0) - info.completed_at_ms).toBeGreaterThanOrEqual(1_400);
  });
});

describe("QStash stand-in fault switches (@upstash/qstash)", () => {
  let qstash: QStashHandle;
  let dest: Destination;
  let client: Client;
  beforeAll(async () => {
    qstash = await startQStash({ timeScale: 0.001 });
    dest = await startDestination();
    client = new Client({ baseUrl: qstash.url, token: qstash.token, retry: false });
  });
  afterAll(async () => {
    await qstash.close();
    await dest.close();
  });
  const setRules = (rules: unknown[]) =>
    fetch(`${qstash.url}/__faults`, { method: "POST", body: JSON.stringify({ rules }) }).then((r) =>
      r.json(),
    );

  it("publish_refuse refuses with 429 (retry-after) or 5xx and queues nothing", async () => {
    await setRules([
      { kind: "publish_refuse", next: 1, status: 429, retryAfterS: 3 },
      { kind: "publish_refuse", next: 1, status: 503 },
    ]);
    const published = qstash.stats().published;
    const first = await client.publishJSON({ url: `${dest.base}/refused`, body: {} }).catch((e) => e);
    expect(first).toBeInstanceOf(QstashError);
    const second = await client.publishJSON({ url: `${dest.base}/refused`, body: {} }).catch((e) => e);
    expect(second).toBeInstanceOf(QstashError);
    expect(String(second.message)).toMatch(/fault switch/);
    const raw = await fetch(`${qstash.url}/v2/publish/${dest.base}/refused`, {
      method: "POST",
      headers: { authorization: `Bearer ${qstash.token}` },
    });
    expect(raw.status).toBe(200); // the rules are used up
    await setRules([{ kind: "publish_refuse", next: 1, status: 429, retryAfterS: 3 }]);
    const refused = await fetch(`${qstash.url}/v2/publish/${dest.base}/refused`, {
      method: "POST",
      headers: { authorization: `Bearer ${qstash.token}` },
    });
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([429, "3"]);
    expect(qstash.stats().published).toBe(published + 1);
    // delayMs: a slow answer that ends in the refusal.
    await setRules([{ kind: "publish_refuse", next: 1, status: 503, delayMs: 400 }]);
    const started = Date.now();
    const slow = await fetch(`${qstash.url}/v2/publish/${dest.base}/refused`, {
      method: "POST",
      headers: { authorization: `Bearer ${qstash.token}` },
    });
    expect(slow.status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(qstash.stats().published).toBe(published + 1);
  });

  it("drop_delivery kills a step mid-way; QStash retries it", async () => {
    dest.answer("/step", (_hit, count) => (count === 1 ? { status: 200, delayMs: 5_000 } : { status: 200 }));
    await setRules([{ kind: "drop_delivery", next: 1, afterMs: 100, match: "/step" }]);
    await client.publishJSON({ url: `${dest.base}/step`, body: { n: 1 }, retries: 2 });
    const hits = await dest.waitFor("/step", 2, 20_000);
    expect(hits[1]?.headers["upstash-retried"]).toBe("1");
    expect(hits[0]?.headers["upstash-message-id"]).toBe(hits[1]?.headers["upstash-message-id"]);
  });

  it("duplicate delivers a message twice with the same id", async () => {
    await setRules([{ kind: "duplicate", next: 1, match: "/dup", delayMs: 20 }]);
    await client.publishJSON({ url: `${dest.base}/dup`, body: {} });
    const hits = await dest.waitFor("/dup", 2, 20_000);
    expect(hits[0]?.headers["upstash-message-id"]).toBe(hits[1]?.headers["upstash-message-id"]);
    expect(hits[1]?.headers["upstash-retried"]).toBe("0");
  });

  it("late holds a message back so a later one overtakes it", async () => {
    await setRules([{ kind: "late", next: 1, match: "/order", delayMs: 3_000 }]);
    await client.publishJSON({ url: `${dest.base}/order`, body: { n: 1 } });
    await client.publishJSON({ url: `${dest.base}/order`, body: { n: 2 } });
    const hits = await dest.waitFor("/order", 2, 20_000);
    expect(hits.map((h) => JSON.parse(h.body).n)).toEqual([2, 1]);
    expect((await setRules([])).injected).toMatchObject({ late: 1, duplicate: 1, drop_delivery: 1 });
  });
});

describe("inbox / tool endpoint fault switches", () => {
  let inbox: InboxHandle;
  beforeAll(async () => {
    inbox = await startInbox({ faultRules: [{ kind: "error", next: 1, status: 503, retryAfterS: 2 }] });
  });
  afterAll(() => inbox.close());

  it("error, timeout and slow answer as told and are recorded", async () => {
    const failed = await fetch(`${inbox.url}/hook`, { method: "POST", body: "{}" });
    expect([failed.status, failed.headers.get("retry-after")]).toEqual([503, "2"]);
    await fetch(`${inbox.url}/__faults`, {
      method: "POST",
      body: JSON.stringify({
        rules: [
          { kind: "timeout", next: 1, delayMs: 50, match: "/tool" },
          { kind: "slow", next: 1, delayMs: 300, match: "/slow" },
        ],
      }),
    });
    await expect(fetch(`${inbox.url}/tool`, { method: "POST", body: "{}" })).rejects.toThrow();
    const started = Date.now();
    const slow = await fetch(`${inbox.url}/slow`, { method: "POST", body: "{}" });
    expect(slow.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(inbox.deliveries().map((d) => [d.path, d.answered_status, d.fault])).toEqual([
      ["/hook", 503, "error"],
      ["/tool", 0, "timeout"],
      ["/slow", 200, "slow"],
    ]);
    expect(inbox.faults.state().injected).toEqual({ error: 1, timeout: 1, slow: 1 });
  });
});
