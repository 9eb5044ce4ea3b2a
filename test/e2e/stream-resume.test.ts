/**
 * The `stream` drive strategy across steps: a run longer than DRIVE_BUDGET_MS is streamed by one
 * step until its budget ends, and the next step resumes the stream after the last event seen
 * (`starting_after`), so every step reads new events only. A recording proxy between the Worker and
 * the OpenAI stand-in shows each stream request the Worker makes.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let proxy: http.Server;
let target = "";
/** Each `GET /v1/responses/{id}?stream=true` the Worker made: its `starting_after` and how many events it got. */
const resumed: { after: number | null; events: number }[] = [];

beforeAll(async () => {
  proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const upstream = http.request(
      `${target}${url.pathname}${url.search}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const isResume = req.method === "GET" && url.searchParams.get("stream") === "true";
        const row = {
          after: isResume ? Number(url.searchParams.get("starting_after") ?? Number.NaN) : null,
          events: 0,
        };
        if (isResume) resumed.push(row);
        up.on("data", (chunk: Buffer) => {
          row.events += chunk.toString().split("\n\n").length - 1;
          res.write(chunk);
        });
        up.on("end", () => res.end());
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  // Model time unscaled: a 2.4 s answer in 60 deltas, followed in steps of 0.5 s.
  e2e = await startE2E({
    timeScale: 1,
    workerVars: { DRIVE_STRATEGY: "stream", DRIVE_BUDGET_MS: "500", OPENAI_BASE_URL: `${proxyUrl}/v1` },
  });
  target = e2e.stack.openai.url;
}, 60_000);

afterAll(async () => {
  await e2e?.close();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
});

describe("stream strategy across steps", () => {
  it("resumes after the last event it saw and completes with the whole answer", async () => {
    const assistant = await e2e.createAssistant();
    const reply = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");
    const path = hookPath("resume");
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      conversation: `test:resume:${Date.now()}`,
      input: `go #sim ${JSON.stringify({ delay_ms: 2400, chunks: 60, reply })}`,
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(res.status).toBe(202);
    const [delivery] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    const event = delivery?.body as any;
    expect(event.type).toBe("run.completed");
    expect(event.data.run.output.text).toBe(reply);

    // The first step streamed the create; later steps resumed, each after a later event.
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    const cursors = resumed.map((r) => r.after);
    for (const [i, after] of cursors.entries()) {
      expect(Number.isInteger(after)).toBe(true);
      if (i > 0) expect(after).toBeGreaterThan(cursors[i - 1] as number);
    }
    // The first step read part of the answer before its budget ended; the last stream ran to the
    // terminal event (after the 60 deltas and the lifecycle events around them).
    expect(resumed[0]?.after).toBeGreaterThan(0);
    const last = resumed.at(-1) as { after: number; events: number };
    expect(last.after + last.events).toBeGreaterThan(60);
  });
});
