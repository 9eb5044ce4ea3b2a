/**
 * Issue 18 part 2: progress events. A run that asks for `events` gets `run.in_progress`,
 * `run.step.completed` and throttled `message.delta` callbacks, signed like the final event and
 * delivered in order per run (`sequence_number` 1, 2, …, the terminal event last); a receiver
 * that fails a progress event delays the later ones without reordering them; the feed carries the
 * same events. The deployment drives runs with DRIVE_STRATEGY=webhook (no stream): a run that asks
 * for `message.delta` is streamed anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

const SECRET = `whsec_${Buffer.from("progress-events-test-secret-32b!").toString("base64")}`;

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    workerVars: {
      DRIVE_STRATEGY: "webhook",
      OPENAI_WEBHOOK_SECRET: SECRET,
      MESSAGE_DELTA_INTERVAL_MS: "1000",
      EVENT_FEED_WINDOW_S: "0",
    },
  });
  e2e.stack.openai.setWebhook({ url: `${e2e.worker}/webhooks/openai`, secret: SECRET });
});
afterAll(async () => e2e?.close());

const ALL = ["run.in_progress", "run.step.completed", "message.delta"];
/** A long answer written in many pieces over ~6 s (the simulator runs at 1/100 of scripted time). */
const REPLY = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
const SLOW = `tell me #sim ${JSON.stringify({ delay_ms: 600_000, chunks: 60, reply: REPLY })}`;

type Got = {
  seq: number;
  type: string;
  id: string;
  at: number;
  body: any;
  status: number;
  verified: boolean;
};

async function startRun(path: string, extra: Record<string, unknown> = {}) {
  const assistant = await e2e.createAssistant();
  const res = await e2e.api("POST", "/v1/messages", {
    assistant_id: assistant.id,
    callback_url: `${e2e.inbox.url}${path}`,
    input: SLOW,
    events: ALL,
    ...extra,
  });
  expect(res.status).toBe(202);
  expect(res.body.events).toEqual(ALL);
  return res.body.id as string;
}

/** Every delivery to `path` until the terminal event has been answered 2xx. */
async function deliveriesUntilEnd(path: string): Promise<Got[]> {
  const until = Date.now() + 60_000;
  for (;;) {
    const all = e2e.inbox.deliveries({ path }).map((d) => ({
      seq: (d.body as any).sequence_number,
      type: (d.body as any).type,
      id: d.webhook_id as string,
      at: d.received_at_ms,
      body: d.body,
      status: d.answered_status,
      verified: d.verified,
    }));
    if (all.some((g) => g.type === "run.completed" && g.status === 200)) return all;
    if (Date.now() > until) throw new Error(`no run.completed: ${JSON.stringify(all.map((g) => g.type))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("progress events", () => {
  it("arrive in order, signed, with sequence numbers; deltas throttled and growing to the final text", async () => {
    const path = hookPath("progress");
    const runId = await startRun(path);
    const got = await deliveriesUntilEnd(path);
    const run = await e2e.waitForRun(runId, ["completed"]);
    expect(run.output.text).toBe(REPLY);

    expect(got.every((g) => g.status === 200 && g.verified)).toBe(true);
    // In order: 1, 2, … (a superseded delta may leave a gap), the terminal event last.
    const seqs = got.map((g) => g.seq);
    expect(seqs[0]).toBe(1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(got.at(-1)?.type).toBe("run.completed");
    expect(got[0]?.type).toBe("run.in_progress");
    expect(got.filter((g) => g.type === "run.step.completed").length).toBe(1);
    expect(new Set(got.map((g) => g.id)).size).toBe(got.length);

    // Deltas: several (the answer took ~6 s), at most one a second at the receiver (10% tolerance),
    // each text growing from the one before, the last equal to the final text.
    const deltas = got.filter((g) => g.type === "message.delta");
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < deltas.length; i++) {
      const gap = (deltas[i] as Got).at - (deltas[i - 1] as Got).at;
      expect(gap, `delta ${i} came ${gap} ms after the one before`).toBeGreaterThanOrEqual(900);
      const [prev, next] = [(deltas[i - 1] as Got).body.data.text, (deltas[i] as Got).body.data.text];
      expect(next.startsWith(prev) && next.length > prev.length).toBe(true);
    }
    expect(deltas.at(-1)?.body.data.text).toBe(REPLY);
    expect(deltas[0]?.body.data.run_id).toBe(runId);
    // The step event comes after the last delta and before the end.
    const types = got.map((g) => g.type);
    expect(types.lastIndexOf("message.delta")).toBeLessThan(types.indexOf("run.step.completed"));

    // The feed carries the same events (same ids, same objects), keeping only the last delta of a run of them.
    const feed = await readFeedEvents(runId);
    const ids = feed.map((e) => e.id);
    expect(feed.at(-1)?.type).toBe("run.completed");
    expect(feed.filter((e) => e.type === "message.delta").length).toBe(1);
    for (const e of feed) {
      const twin = got.find((g) => g.id === e.id);
      expect(twin, `callback for feed event ${e.id}`).toBeDefined();
      if (e.type !== "run.completed") expect(e).toEqual(twin?.body);
      else expect(e.sequence_number).toBe(twin?.seq);
    }
    expect(ids).toContain(deltas.at(-1)?.id);
  }, 90_000);

  it("a receiver that fails a progress event delays the later ones but never reorders them", async () => {
    const path = hookPath("progress-500");
    e2e.inbox.failNext(2); // the first event (run.in_progress) fails twice, then is retried with backoff
    const runId = await startRun(path);
    const got = await deliveriesUntilEnd(path);
    await e2e.waitForRun(runId, ["completed"]);
    const failed = got.filter((g) => g.status !== 200);
    expect(failed.length).toBe(2);
    expect(failed.every((g) => g.seq === 1)).toBe(true);
    // The failed event is redelivered (same id) before anything after it.
    const ok = got.filter((g) => g.status === 200);
    expect(ok[0]?.seq).toBe(1);
    expect(got.slice(0, 3).map((g) => g.seq)).toEqual([1, 1, 1]);
    for (let i = 1; i < ok.length; i++) expect((ok[i] as Got).seq).toBeGreaterThan((ok[i - 1] as Got).seq);
    expect(ok.at(-1)?.type).toBe("run.completed");
    expect(ok.filter((g) => g.type === "message.delta").length).toBeGreaterThanOrEqual(2);
    const state = await e2e.api("GET", `/v1/runs/${runId}`);
    expect(state.body.delivery.state).toBe("delivered");
    expect(state.body.delivery.progress).toMatchObject({ failed: 0, pending: 0, last_error: "HTTP 500" });
    expect(state.body.delivery.progress.delivered).toBe(ok.length - 1); // all but the terminal event
  }, 90_000);

  it("a progress event that fails for good is passed, counted in the run's delivery state", async () => {
    const path = hookPath("progress-failed");
    e2e.inbox.failNext(3); // the first attempt and both retries (DELIVERY_RETRIES 2) of run.in_progress
    const runId = await startRun(path);
    const got = await deliveriesUntilEnd(path);
    expect(got.slice(0, 3).map((g) => [g.seq, g.status])).toEqual([
      [1, 500],
      [1, 500],
      [1, 500],
    ]);
    expect(got[3]?.seq).toBeGreaterThan(1);
    expect(got.at(-1)?.type).toBe("run.completed");
    const state = await e2e.api("GET", `/v1/runs/${runId}`);
    expect(state.body.delivery.progress).toMatchObject({ failed: 1, pending: 0, last_error: "HTTP 500" });
  }, 90_000);

  it("a slow receiver holds the terminal event back until every progress event before it is done", async () => {
    const path = hookPath("progress-slow");
    // Each answer takes 1.5 s: progress events pile up behind the receiver while the run ends.
    e2e.inbox.setBehaviour({ path, delayMs: 1500 });
    const runId = await startRun(path);
    await e2e.waitForRun(runId, ["completed"]);
    const got = await deliveriesUntilEnd(path);
    const seqs = got.map((g) => g.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(got.at(-1)?.type).toBe("run.completed");
    expect(got.filter((g) => g.type === "run.step.completed").length).toBe(1);
    expect(got.filter((g) => g.type === "message.delta").at(-1)?.body.data.text).toBe(REPLY);
  }, 90_000);

  it("orders run.requires_action among the progress events, and the next round's after it", async () => {
    const path = hookPath("progress-tools");
    const fn = {
      type: "function",
      function: { name: "lookup", parameters: { type: "object", properties: {} } },
    };
    const assistant = await e2e.createAssistant({ tools: [fn] });
    const sim = { tool_calls: [{ name: "lookup", arguments: {} }] };
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${path}`,
      input: `check #sim ${JSON.stringify(sim)}`,
      events: ALL,
    });
    expect(res.status).toBe(202);
    const runId = res.body.id as string;
    const waiting = await waitForType(path, "run.requires_action");
    const call = (waiting.body as any).data.run.required_action.submit_tool_outputs.tool_calls[0];
    const ok = await e2e.api("POST", `/v1/runs/${runId}/submit_tool_outputs`, {
      tool_outputs: [{ tool_call_id: call.id, output: "shipped" }],
    });
    expect(ok.status).toBe(200);
    const got = await deliveriesUntilEnd(path);
    const types = got.map((g) => g.type);
    expect(types[0]).toBe("run.in_progress");
    expect(types.indexOf("run.requires_action")).toBeGreaterThan(0);
    // The second round's in_progress comes after requires_action, the end last.
    expect(types.lastIndexOf("run.in_progress")).toBeGreaterThan(types.indexOf("run.requires_action"));
    expect(types.at(-1)).toBe("run.completed");
    const seqs = got.map((g) => g.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(got.find((g) => g.type === "run.requires_action")?.seq).toBe(
      (got[types.indexOf("run.requires_action") - 1] as Got).seq + 1,
    );
  }, 60_000);

  it("without `events` a run delivers only its end, with no sequence number", async () => {
    const path = hookPath("progress-none");
    const assistant = await e2e.createAssistant();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${path}`,
      input: "hello",
    });
    expect(res.body.events).toBeUndefined();
    await e2e.waitForRun(res.body.id, ["completed"]);
    const [only] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((only?.body as any).type).toBe("run.completed");
    expect((only?.body as any).sequence_number).toBeUndefined();
  }, 30_000);

  it("takes the assistant's `events` as the default", async () => {
    const assistant = await e2e.api("POST", "/v1/assistants", {
      model: "gpt-sim",
      events: ["run.step.completed"],
    });
    expect(assistant.status).toBe(200);
    expect(assistant.body.events).toEqual(["run.step.completed"]);
    const path = hookPath("progress-default");
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.body.id,
      callback_url: `${e2e.inbox.url}${path}`,
      input: "hello",
    });
    expect(res.body.events).toEqual(["run.step.completed"]);
    const got = await deliveriesUntilEnd(path);
    expect(got.map((g) => [g.seq, g.type])).toEqual([
      [1, "run.step.completed"],
      [2, "run.completed"],
    ]);
  }, 30_000);

  it("refuses unknown event names with the allowed values", async () => {
    const assistant = await e2e.createAssistant();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${hookPath("bad")}`,
      input: "hello",
      events: ["run.in_progress", "run.typing"],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe("events.1");
    for (const name of ALL) expect(res.body.error.message).toContain(name);
    const bad = await e2e.api("POST", "/v1/assistants", { model: "gpt-sim", events: ["delta"] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("message.delta");
  });
});

/** The first delivery of `type` to `path`. */
async function waitForType(path: string, type: string) {
  const until = Date.now() + 20_000;
  for (;;) {
    const found = e2e.inbox.deliveries({ path }).find((d) => (d.body as any).type === type);
    if (found) return found;
    if (Date.now() > until) throw new Error(`no ${type}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The run's feed, read once to its end (EVENT_FEED_WINDOW_S 0: the events there are). */
async function readFeedEvents(runId: string): Promise<any[]> {
  const res = await fetch(`${e2e.worker}/v1/runs/${runId}/events`, {
    headers: { authorization: `Bearer ${e2e.stack.ready.apiKey}` },
  });
  const text = await res.text();
  return text
    .split("\n\n")
    .map((block) => block.split("\n").find((l) => l.startsWith("data:")))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(5).trim()))
    .filter((e) => typeof e.id === "string");
}
