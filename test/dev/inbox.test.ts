// dev/inbox: Standard Webhooks verification (signed with the `standardwebhooks` package), scripted
// answers, failure injection, filters and long polling.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_INBOX_SECRET, type InboxHandle, startInbox } from "../../dev/inbox/server.ts";

let inbox: InboxHandle;

beforeAll(async () => {
  inbox = await startInbox();
});
afterAll(async () => {
  await inbox?.close();
});
beforeEach(() => inbox.reset());

function signed(
  body: string,
  opts: { secret?: string; id?: string; when?: Date } = {},
): Record<string, string> {
  const id = opts.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const when = opts.when ?? new Date();
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(when.getTime() / 1000)),
    "webhook-signature": new Webhook(opts.secret ?? inbox.secret).sign(id, when, body),
  };
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${inbox.url}${path}`, { method: "POST", body, headers });

describe("signatures", () => {
  it("uses the documented default secret", () => {
    expect(inbox.secret).toBe(DEFAULT_INBOX_SECRET);
    expect(Buffer.from(DEFAULT_INBOX_SECRET.slice(6), "base64")).toHaveLength(32);
  });

  it("verifies a correctly signed delivery and keeps it with its parsed body", async () => {
    const body = JSON.stringify({ type: "run.completed", data: { id: "run_1" } });
    const res = await post("/hooks/a?x=1", body, signed(body, { id: "msg_fixed" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    const [delivery] = inbox.deliveries();
    expect(delivery).toMatchObject({
      path: "/hooks/a",
      query: "?x=1",
      verified: true,
      verify_error: null,
      webhook_id: "msg_fixed",
      body: { type: "run.completed", data: { id: "run_1" } },
      answered_status: 200,
    });
    expect(Math.abs((delivery?.received_at_ms ?? 0) - Date.now())).toBeLessThan(1000);
  });

  it("accepts a header carrying several signatures when one matches", async () => {
    const body = '{"n":1}';
    const headers = signed(body);
    const wrong = new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).sign(
      headers["webhook-id"] ?? "",
      new Date(),
      body,
    );
    headers["webhook-signature"] = `${wrong} ${headers["webhook-signature"]}`;
    await post("/multi", body, headers);
    expect(inbox.deliveries()[0]?.verified).toBe(true);
  });

  it("flags tampered, foreign, stale and unsigned deliveries", async () => {
    const body = '{"amount":1}';
    await post("/t", '{"amount":1000}', signed(body));
    await post("/t", body, signed(body, { secret: `whsec_${Buffer.alloc(32, 1).toString("base64")}` }));
    await post("/t", body, signed(body, { when: new Date(Date.now() - 10 * 60_000) }));
    await post("/t", body, { "content-type": "application/json" });
    const deliveries = inbox.deliveries({ path: "/t" });
    expect(deliveries.map((d) => d.verified)).toEqual([false, false, false, false]);
    expect(deliveries.every((d) => typeof d.verify_error === "string" && d.verify_error.length > 0)).toBe(
      true,
    );
    expect(inbox.deliveries({ verified: false })).toHaveLength(4);
  });
});

describe("answers", () => {
  it("fails exactly the next K attempts, then answers 2xx again", async () => {
    inbox.failNext(2, 503);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post("/k", "{}")).status);
    expect(statuses).toEqual([503, 503, 200, 200]);
    expect(inbox.deliveries().map((d) => d.injected_failure)).toEqual([true, true, false, false]);
    const viaHttp = await fetch(`${inbox.url}/__inbox/fail`, { method: "POST", body: '{"next": 1}' });
    expect(viaHttp.status).toBe(200);
    expect((await post("/k", "{}")).status).toBe(500);
    expect((await post("/k", "{}")).status).toBe(200);
  });

  it("answers with a scripted status and body, per path", async () => {
    const toolOutputs = { tool_outputs: [{ tool_call_id: "call_1", output: "42" }] };
    await fetch(`${inbox.url}/__inbox/behaviour`, {
      method: "POST",
      body: JSON.stringify({ path: "/tools", status: 200, body: toolOutputs }),
    });
    inbox.setBehaviour({ status: 202 });
    const tools = await post("/tools", "{}");
    expect(tools.status).toBe(200);
    expect(await tools.json()).toEqual(toolOutputs);
    const other = await post("/other", "{}");
    expect(other.status).toBe(202);
    expect(await other.json()).toEqual({ ok: true });
    inbox.setBehaviour({ path: "/gone", status: 410, body: "gone" });
    const gone = await post("/gone", "{}");
    expect(gone.status).toBe(410);
    expect(await gone.text()).toBe("gone");
  });

  it("answers slowly when told to", async () => {
    inbox.setBehaviour({ delayMs: 300 });
    const started = Date.now();
    await post("/slow", "{}");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe("listing and waiting", () => {
  it("lists deliveries as JSON with path and since filters, and clears them", async () => {
    await post("/a", '{"i":1}');
    const middle = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await post("/b", '{"i":2}');
    await post("/a", '{"i":3}');
    const byPath = (await (await fetch(`${inbox.url}/deliveries?path=/a`)).json()) as {
      data: { body: unknown }[];
    };
    expect(byPath.data.map((d) => d.body)).toEqual([{ i: 1 }, { i: 3 }]);
    const since = (await (await fetch(`${inbox.url}/deliveries?since=${middle + 1}`)).json()) as {
      count: number;
    };
    expect(since.count).toBe(2);
    const page = await (await fetch(`${inbox.url}/`)).text();
    expect(page).toContain("/b");
    expect(page).toContain("<table>");
    expect(inbox.stats()).toMatchObject({ deliveries: 3, byPath: { "/a": 2, "/b": 1 } });
    await fetch(`${inbox.url}/__inbox/clear`, { method: "POST" });
    expect(inbox.deliveries()).toEqual([]);
  });

  it("long-polls until enough deliveries match, or times out unsatisfied", async () => {
    const started = Date.now();
    const waiting = fetch(`${inbox.url}/deliveries?path=/late&min=2&wait_ms=5000`).then(
      (r) => r.json() as Promise<{ count: number; satisfied: boolean }>,
    );
    setTimeout(() => void post("/late", "{}"), 50);
    setTimeout(() => void post("/late", "{}"), 100);
    const result = await waiting;
    expect(result).toMatchObject({ count: 2, satisfied: true });
    expect(Date.now() - started).toBeLessThan(2000);
    const timedOut = (await (
      await fetch(`${inbox.url}/deliveries?path=/never&min=1&wait_ms=100`)
    ).json()) as {
      satisfied: boolean;
    };
    expect(timedOut.satisfied).toBe(false);
    expect(await inbox.waitFor(2, { path: "/late" })).toHaveLength(2);
  });
});
