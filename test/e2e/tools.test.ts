/** Issue 5 acceptance: function calling through tool endpoints or the caller, end to end. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let answering: Server;
let answeringUrl: string;

const fn = (name: string, endpoint?: string, extra: Record<string, unknown> = {}) => ({
  type: "function",
  function: {
    name,
    description: `the ${name} tool`,
    parameters: { type: "object", properties: { city: { type: "string" } } },
  },
  ...(endpoint ? { endpoint: { url: endpoint, timeout_ms: 2000 } } : {}),
  ...extra,
});

beforeAll(async () => {
  // Short enough for the expiry test, long enough that a loaded machine answers a run in time.
  e2e = await startE2E({ workerVars: { REQUIRES_ACTION_TIMEOUT_S: "8", MAX_TOOL_ROUNDS: "2" } });
  // A receiver that answers run.requires_action inline with an output for every open call.
  answering = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const event = JSON.parse(raw);
      const calls = event.data?.run?.required_action?.submit_tool_outputs?.tool_calls ?? [];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          event.type === "run.requires_action"
            ? {
                tool_outputs: calls.map((c: any) => ({
                  tool_call_id: c.id,
                  output: `inline:${c.function.name}`,
                })),
              }
            : { ok: true },
        ),
      );
    });
  });
  await new Promise<void>((r) => answering.listen(0, "127.0.0.1", r));
  answeringUrl = `http://127.0.0.1:${(answering.address() as AddressInfo).port}`;
});
afterAll(async () => {
  answering?.close();
  await e2e?.close();
});

const send = (assistantId: string, path: string, input: string, extra: Record<string, unknown> = {}) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    callback_url: `${e2e.inbox.url}${path}`,
    input,
    ...extra,
  });
const script = (s: unknown) => `go #sim ${JSON.stringify(s)}`;

describe("function calling", () => {
  it("calls an endpoint tool with parsed, signed arguments and feeds its output to the model", async () => {
    const toolPath = hookPath("weather-tool");
    e2e.inbox.setBehaviour({ path: toolPath, body: { output: { temp_c: 21, sky: "clear" } } });
    const a = await e2e.createAssistant({ tools: [fn("get_weather", `${e2e.inbox.url}${toolPath}`)] });
    const path = hookPath("weather-cb");
    const res = await send(
      a.id,
      path,
      script({ tool_calls: [{ name: "get_weather", arguments: { city: "Paris" } }] }),
    );
    expect(res.status).toBe(202);
    const [call] = await e2e.inbox.waitFor(1, { path: toolPath, timeoutMs: 15_000 });
    expect(call?.verified).toBe(true);
    expect(call?.body).toMatchObject({
      run_id: res.body.id,
      name: "get_weather",
      arguments: { city: "Paris" },
    });
    const [done] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((done?.body as any).type).toBe("run.completed");
    expect((done?.body as any).data.run.output.text).toBe('tool results: [{"temp_c":21,"sky":"clear"}]');

    const steps = await e2e.api("GET", `/v1/runs/${res.body.id}/steps`);
    expect(steps.body.data.map((s: any) => s.type)).toEqual(["tool_calls", "message_creation"]);
    expect(steps.body.data[0].step_details.tool_calls[0].function).toMatchObject({
      name: "get_weather",
      arguments: '{"city":"Paris"}',
      output: '{"temp_c":21,"sky":"clear"}',
    });
  });

  it("runs two calls of one round concurrently and returns both outputs in call order", async () => {
    const p1 = hookPath("slow-a");
    const p2 = hookPath("slow-b");
    e2e.inbox.setBehaviour({ path: p1, delayMs: 400, body: { output: "A" } });
    e2e.inbox.setBehaviour({ path: p2, delayMs: 400, body: { output: "B" } });
    const a = await e2e.createAssistant({
      tools: [fn("tool_a", `${e2e.inbox.url}${p1}`), fn("tool_b", `${e2e.inbox.url}${p2}`)],
    });
    const path = hookPath("parallel-cb");
    await send(
      a.id,
      path,
      script({
        tool_calls: [
          { name: "tool_a", arguments: {} },
          { name: "tool_b", arguments: {} },
        ],
      }),
    );
    const [done] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((done?.body as any).data.run.output.text).toBe('tool results: ["A","B"]');
    const [ra] = e2e.inbox.deliveries({ path: p1 });
    const [rb] = e2e.inbox.deliveries({ path: p2 });
    // Both requests arrived before either could have been answered (each takes 400 ms): they overlapped.
    expect(Math.abs((ra?.received_at_ms ?? 0) - (rb?.received_at_ms ?? 0))).toBeLessThan(300);
  });

  it("gives the model the error of an endpoint that keeps failing, or fails the run with tool_errors=fail", async () => {
    const broken = hookPath("broken");
    e2e.inbox.setBehaviour({ path: broken, status: 500, body: { error: "down" } });
    const lenient = await e2e.createAssistant({ tools: [fn("flaky", `${e2e.inbox.url}${broken}`)] });
    const strict = await e2e.createAssistant({
      tools: [fn("flaky", `${e2e.inbox.url}${broken}`)],
      tool_errors: "fail",
    });
    const p1 = hookPath("lenient-cb");
    const p2 = hookPath("strict-cb");
    await send(lenient.id, p1, script({ tool_calls: [{ name: "flaky", arguments: {} }] }));
    await send(strict.id, p2, script({ tool_calls: [{ name: "flaky", arguments: {} }] }));
    const [d1] = await e2e.inbox.waitFor(1, { path: p1, timeoutMs: 20_000 });
    const [d2] = await e2e.inbox.waitFor(1, { path: p2, timeoutMs: 20_000 });
    expect((d1?.body as any).type).toBe("run.completed");
    expect((d1?.body as any).data.run.output.text).toBe('tool results: [{"error":"HTTP 500"}]');
    expect((d2?.body as any).type).toBe("run.failed");
    expect((d2?.body as any).data.run.last_error.code).toBe("tool_error");
    expect(e2e.inbox.deliveries({ path: broken }).length).toBeGreaterThanOrEqual(6);
  });

  it("asks the caller: an inline answer in the callback reply completes the run", async () => {
    const a = await e2e.createAssistant({ tools: [fn("lookup_order")] });
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: a.id,
      callback_url: `${answeringUrl}/cb`,
      input: script({ tool_calls: [{ name: "lookup_order", arguments: { id: 7 } }] }),
    });
    const run = await e2e.waitForRun(res.body.id, ["completed", "failed", "expired"], 15_000);
    expect(run.status).toBe("completed");
    expect(run.output.text).toBe('tool results: ["inline:lookup_order"]');
  });

  it("asks the caller: requires_action event, wrong id → 400, then submit_tool_outputs completes", async () => {
    const a = await e2e.createAssistant({ tools: [fn("lookup_order")] });
    const path = hookPath("ra");
    const res = await send(
      a.id,
      path,
      script({ tool_calls: [{ name: "lookup_order", arguments: { id: 9 } }] }),
    );
    const [ev] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    const body = ev?.body as any;
    expect(body.type).toBe("run.requires_action");
    const calls = body.data.run.required_action.submit_tool_outputs.tool_calls;
    expect(calls).toEqual([
      { id: expect.any(String), type: "function", function: { name: "lookup_order", arguments: '{"id":9}' } },
    ]);
    const wrong = await e2e.api("POST", `/v1/runs/${res.body.id}/submit_tool_outputs`, {
      tool_outputs: [{ tool_call_id: "call_nope", output: "x" }],
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe("invalid_tool_outputs");
    expect((await e2e.api("GET", `/v1/runs/${res.body.id}`)).body.status).toBe("requires_action");
    const ok = await e2e.api("POST", `/v1/runs/${res.body.id}/submit_tool_outputs`, {
      tool_outputs: [{ tool_call_id: calls[0].id, output: "shipped" }],
    });
    expect(ok.status).toBe(200);
    const [, done] = await e2e.inbox.waitFor(2, { path, timeoutMs: 15_000 });
    expect((done?.body as any).type).toBe("run.completed");
    expect((done?.body as any).data.run.output.text).toBe('tool results: ["shipped"]');
  });

  it("expires a run nobody answers, and the thread stays usable", async () => {
    const a = await e2e.createAssistant({ tools: [fn("lookup_order")] });
    const path = hookPath("expire-ra");
    const conversation = `test:ra-expire:${Date.now()}`;
    await send(a.id, path, script({ tool_calls: [{ name: "lookup_order", arguments: {} }] }), {
      conversation,
    });
    const [, expired] = await e2e.inbox.waitFor(2, { path, timeoutMs: 20_000 });
    expect((expired?.body as any).type).toBe("run.expired");
    const path2 = hookPath("after-expire");
    await send(a.id, path2, "still there?", { conversation });
    const [d] = await e2e.inbox.waitFor(1, { path: path2, timeoutMs: 15_000 });
    expect((d?.body as any).data.run.output.text).toBe("echo: still there?");
  });

  it("ends incomplete after more tool rounds than the bound", async () => {
    const toolPath = hookPath("loop-tool");
    e2e.inbox.setBehaviour({ path: toolPath, body: { output: "again" } });
    const a = await e2e.createAssistant({ tools: [fn("loop", `${e2e.inbox.url}${toolPath}`)] });
    const path = hookPath("loop-cb");
    await send(a.id, path, script({ tool_calls: [{ name: "loop", arguments: {} }], tool_rounds: 5 }));
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((d?.body as any).type).toBe("run.incomplete");
    expect((d?.body as any).data.run.incomplete_details.reason).toBe("max_tool_rounds");
  });

  it("refuses bad tool definitions with clear errors", async () => {
    const dup = await e2e.api("POST", "/v1/assistants", { model: "m", tools: [fn("a"), fn("a")] });
    expect(dup.status).toBe(400);
    expect(dup.body.error.code).toBe("duplicate_tool_name");
    const badSchema = await e2e.api("POST", "/v1/assistants", {
      model: "m",
      tools: [{ type: "function", function: { name: "x", parameters: { type: "banana" } } }],
    });
    expect(badSchema.status).toBe(400);
    const badUrl = await e2e.api("POST", "/v1/assistants", {
      model: "m",
      tools: [fn("x", "http://169.254.169.254/latest")],
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error.code).toMatch(/^endpoint_url_/);
  });
});

describe("outputs", () => {
  it("carries file_citation annotations and parsed JSON output into the callback", async () => {
    const a = await e2e.createAssistant({ response_format: { type: "json_object" } });
    const path = hookPath("annot");
    await send(a.id, path, `x #sim ${JSON.stringify({ reply: '{"answer":42}', annotations: true })}`);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    const run = (d?.body as any).data.run;
    expect(run.output.content[0].text.annotations[0]).toMatchObject({
      type: "file_citation",
      file_citation: { file_id: expect.stringMatching(/^file-/) },
    });
    expect(run.output_json).toEqual({ value: { answer: 42 } });
  });
});
