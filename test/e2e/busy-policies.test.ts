/**
 * Busy-thread policies (`on_busy`) and `debounce_ms`, end to end through the local stack, with
 * bursts of concurrent messages, and every QStash step delivered twice and a share of them
 * reordered (dev/faults.ts): a debounced start delivered twice or late still starts one run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    // Real time: debounce waits are QStash delays, which the stand-in would scale otherwise.
    timeScale: 1,
    qstashDuplicateFraction: 1,
    faults: { qstash: [{ kind: "reorder", fraction: 0.3, delayMs: 300 }] },
    // Steps make the creates (under `call` a duplicated call is a second create: docs/performance.md).
    workerVars: { THREAD_QUEUE_MAX: "3", DRIVE_STRATEGY: "stream" },
  });
});
afterAll(async () => e2e?.close());

const LONG = (text: string, ms = 2500) => `${text} #sim {"delay_ms": ${ms}}`;

const simResponses = async () => {
  const base = e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "");
  return ((await (await fetch(`${base}/__sim/responses`)).json()) as { data: any[] }).data;
};
/** Every user text the run sent upstream, in order. */
const sentTexts = async (runId: string) => {
  const texts: string[] = [];
  for (const r of await simResponses()) {
    if (r.metadata?.threadhook_run !== runId) continue;
    const input = typeof r.input === "string" ? [{ role: "user", content: r.input }] : (r.input ?? []);
    for (const item of input) {
      if (item.role !== "user") continue;
      const content = item.content;
      texts.push(typeof content === "string" ? content : content.map((p: any) => p.text ?? "").join(""));
    }
  }
  return texts;
};
const threadTexts = async (threadId: string) => {
  const r = await e2e.api("GET", `/v1/threads/${threadId}/messages?order=asc&limit=100`);
  return r.body.data.map((m: any) => m.content?.[0]?.text?.value ?? "");
};
/** Wait until `path` received `n` deliveries (callbacks arrive after the run ends). */
const waitForDeliveries = async (path: string, n: number, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = e2e.inbox.deliveries({ path });
    if (got.length >= n) return got;
    if (Date.now() > until) throw new Error(`${path}: ${got.length} deliveries, expected ${n}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A thread whose first run answers after `ms` (long enough for the burst that follows, on a busy CI). */
async function busyThread(assistantId: string, path: string, ms = 2500) {
  const first = await e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    conversation: `busy-${Date.now()}-${Math.random()}`,
    input: LONG("first", ms),
    callback_url: `${e2e.inbox.url}${path}`,
  });
  expect(first.status).toBe(202);
  return first.body as { id: string; thread_id: string };
}

const post = (assistantId: string, threadId: string, input: string, extra: Record<string, unknown>) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    thread_id: threadId,
    input,
    callback_url: `${e2e.inbox.url}${hookPath("busy")}`,
    ...extra,
  });

describe("on_busy", () => {
  it("reject: every concurrent message on a busy thread gets 409 thread_busy naming the active run", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const first = await busyThread(assistant, hookPath("reject"), 5000);
    const answers = await Promise.all(
      [1, 2, 3, 4].map((i) => post(assistant, first.thread_id, `r${i}`, { on_busy: "reject" })),
    );
    for (const a of answers) {
      expect(a.status).toBe(409);
      expect(a.body.error.code).toBe("thread_busy");
      expect(a.body.error.message).toContain(first.id);
    }
    await e2e.waitForRun(first.id, ["completed"], 30_000);
  }, 60_000);

  it("queue: a bounded FIFO; the message past THREAD_QUEUE_MAX gets 429 thread_queue_full", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const first = await busyThread(assistant, hookPath("queue"));
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => post(assistant, first.thread_id, `q${i}`, { on_busy: "queue" })),
    );
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(r.body.error.code).toBe("thread_queue_full");
    const done = await Promise.all(accepted.map((a) => e2e.waitForRun(a.body.id, ["completed"], 40_000)));
    // FIFO: each started after the one before it ended. Times are whole seconds: two runs may start
    // in the same one, and then the one that ended first came first.
    const ordered = done.sort((a, b) => a.started_at - b.started_at || a.completed_at - b.completed_at);
    for (let i = 1; i < ordered.length; i++)
      expect(ordered[i].started_at).toBeGreaterThanOrEqual(ordered[i - 1].completed_at);
  }, 90_000);

  it("latest: queued runs are superseded by the newest, which answers with all their messages", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const first = await busyThread(assistant, hookPath("latest"), 5000);
    const paths = [1, 2, 3, 4].map(() => hookPath("latest-cb"));
    const answers = await Promise.all(
      paths.map((p, i) =>
        e2e.api("POST", "/v1/messages", {
          assistant_id: assistant,
          thread_id: first.thread_id,
          input: `l${i + 1}`,
          on_busy: "latest",
          callback_url: `${e2e.inbox.url}${p}`,
        }),
      ),
    );
    for (const a of answers) expect(a.status).toBe(202);
    const ends = await Promise.all(
      answers.map((a) => e2e.waitForRun(a.body.id, ["completed", "cancelled", "failed"], 40_000)),
    );
    const completed = ends.filter((r) => r.status === "completed");
    const superseded = ends.filter((r) => r.status === "cancelled");
    expect(completed).toHaveLength(1);
    expect(superseded).toHaveLength(3);
    for (const r of superseded) {
      expect(r.cancelled_reason).toBe("superseded");
      expect(answers.map((a) => a.body.id)).toContain(r.superseded_by);
    }
    // Nothing dropped silently: the newest run sent every message, and each superseded caller heard.
    const winner = completed[0].id;
    expect((await sentTexts(winner)).sort()).toEqual(["l1", "l2", "l3", "l4"]);
    for (const [i, a] of answers.entries()) {
      const [d] = await waitForDeliveries(paths[i] as string, 1);
      const body = d?.body as any;
      if (a.body.id === winner) expect(body.type).toBe("run.completed");
      else {
        expect(body.type).toBe("run.cancelled");
        expect(body.data.run.cancelled_reason).toBe("superseded");
      }
    }
    expect(await threadTexts(first.thread_id)).toEqual(expect.arrayContaining(["l1", "l2", "l3", "l4"]));
  }, 90_000);

  it("interrupt: the active run is cancelled and the newest message runs with the whole thread", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const first = await busyThread(assistant, hookPath("interrupt"), 600_000);
    await e2e.waitForRun(first.id, ["in_progress"], 20_000);
    const answers = await Promise.all(
      [1, 2, 3].map((i) => post(assistant, first.thread_id, `i${i}`, { on_busy: "interrupt" })),
    );
    for (const a of answers) expect(a.status).toBe(202);
    const cancelled = await e2e.waitForRun(first.id, ["cancelled", "completed"], 20_000);
    expect(cancelled.status).toBe("cancelled");
    const ends = await Promise.all(
      answers.map((a) => e2e.waitForRun(a.body.id, ["completed", "cancelled", "failed"], 40_000)),
    );
    const completed = ends.filter((r) => r.status === "completed");
    expect(completed).toHaveLength(1);
    for (const r of ends.filter((e) => e.status === "cancelled"))
      expect(r.cancelled_reason).toBe("superseded");
    // The interrupted run's input never joined the conversation: the newest run sends it too.
    const sent = await sentTexts(completed[0].id);
    expect(sent[0]).toContain("first");
    expect(sent.slice(1).sort()).toEqual(["i1", "i2", "i3"]);
  }, 90_000);

  it("merge: a burst on a busy thread becomes one run; each caller's 202 and callback name it", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const first = await busyThread(assistant, hookPath("merge"), 5000);
    const paths = [1, 2, 3, 4].map(() => hookPath("merge-cb"));
    const answers = await Promise.all(
      paths.map((p, i) =>
        e2e.api("POST", "/v1/messages", {
          assistant_id: assistant,
          thread_id: first.thread_id,
          input: `m${i + 1}`,
          on_busy: "merge",
          callback_url: `${e2e.inbox.url}${p}`,
        }),
      ),
    );
    for (const a of answers) expect(a.status).toBe(202);
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const [merged] = [...ids] as string[];
    expect(merged).not.toBe(first.id);
    await e2e.waitForRun(merged as string, ["completed"], 40_000);
    expect((await sentTexts(merged as string)).sort()).toEqual(["m1", "m2", "m3", "m4"]);
    const eventIds = new Set<string>();
    for (const p of paths) {
      const got = await waitForDeliveries(p, 1);
      // Once per caller, though every step was delivered twice.
      await new Promise((r) => setTimeout(r, 300));
      expect(e2e.inbox.deliveries({ path: p })).toHaveLength(1);
      const body = got[0]?.body as any;
      expect(body.type).toBe("run.completed");
      expect(body.data.run.id).toBe(merged);
      eventIds.add(got[0]?.webhook_id as string);
    }
    expect(eventIds.size).toBe(4);
  }, 90_000);

  it("merge: a merged run cancelled (or superseded) before it starts still tells every merged caller", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const first = await busyThread(assistant, hookPath("merge-cancel"), 6000);
    const send = (input: string, path: string, on_busy: string) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant,
        thread_id: first.thread_id,
        input,
        on_busy,
        callback_url: `${e2e.inbox.url}${path}`,
      });
    const paths = [hookPath("mc1"), hookPath("mc2")];
    const m1 = await send("c1", paths[0] as string, "merge");
    const m2 = await send("c2", paths[1] as string, "merge");
    expect(m2.body.id).toBe(m1.body.id);
    const newest = await send("c3", hookPath("mc3"), "latest");
    for (const p of paths) {
      const [d] = await waitForDeliveries(p, 1);
      const body = d?.body as any;
      expect(body.type).toBe("run.cancelled");
      expect(body.data.run.id).toBe(m1.body.id);
      expect(body.data.run.superseded_by).toBe(newest.body.id);
    }
    await e2e.waitForRun(newest.body.id, ["completed"], 40_000);
    expect(await sentTexts(newest.body.id)).toEqual(["c1", "c2", "c3"]);
  }, 60_000);

  it("merge: callers merged into a run without a callback URL (an Assistants-door run) still get its callback", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const first = await busyThread(assistant, hookPath("merge-nocb"), 5000);
    // An Assistants-door run has no callback URL; a webhook message then merges into it.
    const silent = await e2e.api(
      "POST",
      `/v1/threads/${first.thread_id}/runs`,
      { assistant_id: assistant, additional_messages: [{ role: "user", content: "quiet one" }] },
      { "threadhook-on-busy": "merge" },
    );
    expect(silent.status).toBe(200);
    const path = hookPath("merge-late");
    const loud = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant,
      thread_id: first.thread_id,
      input: "loud one",
      on_busy: "merge",
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(loud.body.id).toBe(silent.body.id);
    await e2e.waitForRun(silent.body.id, ["completed"], 40_000);
    const [d] = await waitForDeliveries(path, 1);
    expect((d?.body as any).type).toBe("run.completed");
    expect((d?.body as any).data.run.id).toBe(silent.body.id);
  }, 60_000);

  it("merge with debounce_ms: messages within the quiet time on an idle thread become one run", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const conversation = `debounce-${Date.now()}`;
    const send = (input: string) =>
      e2e.api("POST", "/v1/messages", {
        assistant_id: assistant,
        conversation,
        input,
        on_busy: "merge",
        debounce_ms: 1500,
        callback_url: `${e2e.inbox.url}${hookPath("debounce")}`,
      });
    const a = await send("hi");
    const b = await send("I need help with");
    const c = await send("my order 4711");
    expect(new Set([a.body.id, b.body.id, c.body.id]).size).toBe(1);
    const run = await e2e.waitForRun(a.body.id, ["completed"], 40_000);
    expect(await sentTexts(run.id)).toEqual(["hi", "I need help with", "my order 4711"]);
    // One upstream response, though every debounced start step was delivered twice.
    expect((await simResponses()).filter((r) => r.metadata?.threadhook_run === run.id)).toHaveLength(1);
  }, 60_000);

  it("queue with debounce_ms: the run starts only after that much quiet", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const a = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant,
      input: "wait for it",
      debounce_ms: 2000,
      callback_url: `${e2e.inbox.url}${hookPath("qdebounce")}`,
    });
    expect(a.status).toBe(202);
    const run = await e2e.waitForRun(a.body.id, ["completed"], 40_000);
    const started = Date.parse(run.timeline.find((t: any) => t.status === "in_progress").at);
    expect(started - run.created_at * 1000).toBeGreaterThanOrEqual(2000 - 1000);
    expect((await simResponses()).filter((r) => r.metadata?.threadhook_run === run.id)).toHaveLength(1);
  }, 60_000);
});

describe("bad input", () => {
  it("refuses an unknown policy naming every allowed value, and debounce_ms out of bounds", async () => {
    const { id: assistant } = await e2e.createAssistant();
    const base = { assistant_id: assistant, input: "x", callback_url: `${e2e.inbox.url}${hookPath("bad")}` };
    const unknown = await e2e.api("POST", "/v1/messages", { ...base, on_busy: "drop" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.param).toBe("on_busy");
    for (const p of ["queue", "reject", "interrupt", "latest", "merge"])
      expect(unknown.body.error.message).toContain(`"${p}"`);
    const tooLong = await e2e.api("POST", "/v1/messages", { ...base, debounce_ms: 60_001 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.param).toBe("debounce_ms");
    const wrongPolicy = await e2e.api("POST", "/v1/messages", {
      ...base,
      on_busy: "reject",
      debounce_ms: 100,
    });
    expect(wrongPolicy.status).toBe(400);
    expect(wrongPolicy.body.error.code).toBe("invalid_debounce");
    const badAssistant = await e2e.api("POST", "/v1/assistants", { model: "gpt-sim", on_busy: "later" });
    expect(badAssistant.status).toBe(400);
  });
});

describe("the Assistants API's extension", () => {
  it("keeps the original 400 without it; the header or field picks a policy; the assistant's default applies on the webhook API", async () => {
    const { id: assistant } = await e2e.createAssistant({ on_busy: "reject" });
    const first = await busyThread(assistant, hookPath("asst"), 6000);
    // The webhook API takes the assistant's default (reject) when the message names none.
    const viaWebhook = await post(assistant, first.thread_id, "w", {});
    expect(viaWebhook.status).toBe(409);
    const run = (headers: Record<string, string>, extra: Record<string, unknown> = {}) =>
      e2e.api(
        "POST",
        `/v1/threads/${first.thread_id}/runs`,
        { assistant_id: assistant, additional_messages: [{ role: "user", content: "a" }], ...extra },
        headers,
      );
    const plain = await run({});
    expect(plain.status).toBe(400);
    expect(plain.body.error.message).toBe(`Thread ${first.thread_id} already has an active run ${first.id}.`);
    expect(plain.body.error.code).toBeNull();
    const rejected = await run({ "threadhook-on-busy": "reject" });
    expect(rejected.status).toBe(409);
    expect(rejected.body.error.code).toBe("thread_busy");
    const queued = await run({}, { on_busy: "queue" });
    expect(queued.status).toBe(200);
    expect(queued.body.status).toBe("queued");
    const badHeader = await run({ "threadhook-on-busy": "nope" });
    expect(badHeader.status).toBe(400);
    expect(badHeader.body.error.message).toContain('"merge"');
    await e2e.waitForRun(queued.body.id, ["completed"], 40_000);
  }, 60_000);
});
