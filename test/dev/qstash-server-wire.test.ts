// dev/qstash-server wire details: raw destinations, query options, batch validation, parsers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDuration } from "../../dev/qstash-server/duration.ts";
import { evaluateRetryDelay } from "../../dev/qstash-server/expr.ts";
import { type QStashHandle, startQStash } from "../../dev/qstash-server/server.ts";
import { type Destination, header, sleep, startDestination } from "./qstash-server-helpers.ts";

let qstash: QStashHandle;
let dest: Destination;

beforeAll(async () => {
  [qstash, dest] = await Promise.all([startQStash({ timeScale: 0.01 }), startDestination()]);
});

afterAll(async () => {
  await Promise.all([qstash?.close(), dest?.close()]);
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${qstash.url}${path}`, {
    method: "POST",
    ...init,
    headers: { authorization: `Bearer ${qstash.token}`, ...(init.headers as Record<string, string>) },
  });

describe("publish wire format", () => {
  it("keeps the destination's own query and strips token and upstash-* query options", async () => {
    const res = await fetch(
      // 100 s nominal (1 s at this time scale): still in the messages API when it is read, even on a
      // busy machine (at 1 s it could be delivered and gone first).
      `${qstash.url}/v2/publish/${dest.base}/query?a=1&b=two&upstash-delay=100s&qstash_token=${encodeURIComponent(qstash.token)}`,
      { method: "POST", body: "q" },
    );
    const { messageId } = await res.json();
    const message = await (await api(`/v2/messages/${messageId}`, { method: "GET" })).json();
    expect(message.url).toBe(`${dest.base}/query?a=1&b=two`);
    expect(message.notBefore - message.createdAt).toBe(100_000);
    await dest.waitForOne("/query", 10_000);
  });

  it("keeps header case in the messages API and sends the Upstash-Method without a body for GET", async () => {
    const res = await api(`/v2/publish/${dest.base}/get-me`, {
      headers: { "Upstash-Method": "GET", "Upstash-Forward-Test-Header": "v", "Upstash-Delay": "10s" },
      body: "ignored",
    });
    const { messageId } = await res.json();
    const message = await (await api(`/v2/messages/${messageId}`, { method: "GET" })).json();
    expect(message.header["Test-Header"]).toEqual(["v"]);
    const hit = await dest.waitForOne("/get-me");
    expect(hit.method).toBe("GET");
    expect(hit.body).toBe("");
    expect(header(hit, "test-header")).toBe("v");
  });

  it("rejects a batch with one invalid element without publishing any", async () => {
    const before = qstash.stats().published;
    const res = await api("/v2/batch", {
      body: JSON.stringify([
        { destination: `${dest.base}/batch-ok`, body: "1" },
        { destination: "not a url", body: "2" },
      ]),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/invalid destination url/);
    expect(qstash.stats().published).toBe(before);
  });

  it("rejects malformed Upstash headers with 400 {error}", async () => {
    for (const [name, value] of [
      ["Upstash-Delay", "soon"],
      ["Upstash-Retries", "-1"],
      ["Upstash-Retry-Delay", "eval(1)"],
      ["Upstash-Callback", "ftp://x"],
    ] as const) {
      const res = await api(`/v2/publish/${dest.base}/bad`, { headers: { [name]: value } });
      expect(res.status, name).toBe(400);
      expect(await res.json()).toHaveProperty("error");
    }
    await sleep(50);
    expect(dest.on("/bad")).toHaveLength(0);
  });

  it("answers 404 {error} for unknown messages and DLQ ids", async () => {
    for (const path of ["/v2/messages/msg_nope", "/v2/dlq/123-0"]) {
      const res = await api(path, { method: "GET" });
      expect(res.status).toBe(404);
      expect(await res.json()).toHaveProperty("error");
    }
  });
});

describe("parsers", () => {
  it("parses simple and compound durations", () => {
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("1m")).toBe(60_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1d10h30m")).toBe(124_200_000);
    expect(parseDuration("5")).toBe(5000);
    expect(parseDuration("10x")).toBeUndefined();
    expect(parseDuration("")).toBeUndefined();
  });

  it("evaluates retry-delay expressions safely", () => {
    expect(evaluateRetryDelay("1000", 0)).toBe(1000);
    expect(evaluateRetryDelay("1000 * (1 + retried)", 2)).toBe(3000);
    expect(evaluateRetryDelay("pow(2, retried) * 100", 3)).toBe(800);
    expect(evaluateRetryDelay("min(max(retried * 10, 5), 20) + abs(-1)", 5)).toBe(21);
    expect(evaluateRetryDelay("floor(sqrt(10)) + ceil(0.2) + round(exp(0))", 0)).toBe(5);
    expect(evaluateRetryDelay("-retried + 10 % 4", 1)).toBe(1);
    for (const bad of ["", "1 +", "process.exit(1)", "foo(1)", "(1", "1 / 0", "retried retried"]) {
      expect(() => evaluateRetryDelay(bad, 1), bad).toThrow();
    }
  });
});
