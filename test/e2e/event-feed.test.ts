/**
 * Issue 18 part 3: a run's resumable event feed (`GET /v1/runs/{id}/events`). A client that drops
 * the stream mid-run and comes back with `Last-Event-ID` gets every event once, in order, with the
 * callbacks' ids; a stream that ends before the run (the feed window) asks for a reconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { checkResponse } from "../support/openapi-check";

let e2e: E2E;
beforeAll(async () => {
  // A short window, so the resumed stream also ends and reconnects while the run goes on.
  e2e = await startE2E({ workerVars: { EVENT_FEED_WINDOW_S: "2" } });
});
afterAll(async () => e2e?.close());

interface SseEvent {
  id: string | null;
  event: string;
  data: any;
  retry: number | null;
}

/**
 * Open the feed (with `Last-Event-ID` when given) and read events until `stopAfter` says so (then
 * the connection is dropped) or the stream ends.
 */
async function readFeed(runId: string, lastEventId: string | null, stopAfter: (e: SseEvent) => boolean) {
  const abort = new AbortController();
  const path = `/v1/runs/${runId}/events`;
  const res = await fetch(`${e2e.worker}${path}`, {
    headers: {
      authorization: `Bearer ${e2e.stack.ready.apiKey}`,
      ...(lastEventId ? { "last-event-id": lastEventId } : {}),
    },
    signal: abort.signal,
  });
  await checkResponse("GET", path, res);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = "";
  let dropped = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0 && !dropped) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
      const e: SseEvent = { id: null, event: "message", data: null, retry: null };
      for (const line of block.split("\n")) {
        const at = line.indexOf(":");
        const field = line.slice(0, at);
        const val = line.slice(at + 1).replace(/^ /, "");
        if (field === "id") e.id = val;
        else if (field === "event") e.event = val;
        else if (field === "data") e.data = JSON.parse(val);
        else if (field === "retry") e.retry = Number(val);
      }
      events.push(e);
      if (stopAfter(e)) dropped = true;
    }
    if (dropped) {
      abort.abort();
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return { events, dropped };
}

const fn = (name: string) => ({
  type: "function",
  function: { name, parameters: { type: "object", properties: { id: { type: "number" } } } },
});

describe("GET /v1/runs/{id}/events", () => {
  it("resumes from Last-Event-ID after a dropped connection without gaps or repeats", async () => {
    const assistant = await e2e.createAssistant({ tools: [fn("lookup_order")] });
    const path = hookPath("feed");
    const sim = { tool_calls: [{ name: "lookup_order", arguments: { id: 9 } }] };
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${path}`,
      input: `go #sim ${JSON.stringify(sim)}`,
    });
    expect(res.status).toBe(202);
    const runId = res.body.id as string;

    // First connection: read until the run asks for tool outputs, then drop the connection.
    const seen: SseEvent[] = [];
    let last: string | null = null;
    for (let tries = 0; ; tries++) {
      const first = await readFeed(runId, last, (e) => e.event === "run.requires_action");
      const real = first.events.filter((e) => e.id !== null);
      seen.push(...real);
      last = real.at(-1)?.id ?? last;
      if (first.dropped) break;
      // The window ended first: the stream said so and when to come back.
      expect(first.events.at(-1)?.event).toBe("reconnect");
      expect(first.events.at(-1)?.retry).toBeGreaterThan(0);
      if (tries > 20) throw new Error("no run.requires_action in the feed");
    }
    const ra = seen.at(-1);
    expect(ra?.event).toBe("run.requires_action");
    const calls = ra?.data.data.run.required_action.submit_tool_outputs.tool_calls;
    const ok = await e2e.api("POST", `/v1/runs/${runId}/submit_tool_outputs`, {
      tool_outputs: [{ tool_call_id: calls[0].id, output: "shipped" }],
    });
    expect(ok.status).toBe(200);

    // Come back with Last-Event-ID (again after each window) until the stream closes after the end.
    let reconnects = 0;
    for (;;) {
      const next = await readFeed(runId, last, () => false);
      const real = next.events.filter((e) => e.id !== null);
      seen.push(...real);
      last = real.at(-1)?.id ?? last;
      if (real.at(-1)?.event === "run.completed") {
        expect(next.events.at(-1)?.event).toBe("run.completed"); // closes right after it
        break;
      }
      expect(next.events.at(-1)?.event).toBe("reconnect");
      if (++reconnects > 30) throw new Error("the feed never ended");
    }

    // No repeats, and nothing missing: the same events as a full replay, in the same order.
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const replay = await readFeed(runId, null, () => false);
    expect(replay.events.map((e) => e.id)).toEqual(ids);
    expect(replay.events.map((e) => e.event)).toEqual(seen.map((e) => e.event));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    // Each event is the callback's event object: same id (webhook-id), type and shape.
    const delivered = await e2e.inbox.waitFor(2, { path, timeoutMs: 15_000 });
    for (const d of delivered) {
      const twin = seen.find((e) => e.id === d.webhook_id);
      expect(twin, `feed has the callback event ${d.webhook_id}`).toBeDefined();
      expect(twin?.data.type).toBe((d.body as any).type);
      expect(twin?.data.id).toBe((d.body as any).id);
      expect(twin?.data.data.run.id).toBe(runId);
    }
    expect(seen.at(-1)?.data.data.run.output.text).toBe('tool results: ["shipped"]');
    // From the terminal event on there is nothing more: the stream ends at once, empty.
    const after = await readFeed(runId, last, () => false);
    expect(after.events).toEqual([]);
  });

  it("is another tenant's 404", async () => {
    const tenant = await e2e.createTenant();
    const key = await tenant.issue("member");
    const assistant = await e2e.createAssistant();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${hookPath("feed-404")}`,
      input: "hello",
    });
    const other = await key.api("GET", `/v1/runs/${res.body.id}/events`);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe("run_not_found");
  });
});
