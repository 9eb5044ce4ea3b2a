/**
 * Issue 13, finding 1: exactly one upstream response per round. Under `stream` with a step budget
 * far shorter than the tool endpoint's answer, the round after the tools starts with its budget
 * spent; a create aborted before `response.created` left a response running upstream that the run
 * never learned of, and the next step created the round again (3 responses for one round).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    timeScale: 1,
    openaiDelayMs: 200,
    workerVars: { DRIVE_STRATEGY: "stream", DRIVE_BUDGET_MS: "300" },
  });
});
afterAll(async () => e2e?.close());

const simResponses = async () =>
  ((await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as { data: any[] }).data;

describe("one upstream response per round", () => {
  it("a budget spent by a slow tool endpoint makes no second response, for every round", async () => {
    const toolPath = hookPath("slow-tool");
    e2e.inbox.setBehaviour({ path: toolPath, delayMs: 900, body: { output: "sunny" } });
    const assistant = await e2e.createAssistant({
      tools: [
        {
          type: "function",
          function: { name: "weather", parameters: { type: "object", properties: {} } },
          endpoint: { url: `${e2e.inbox.url}${toolPath}`, timeout_ms: 5_000 },
        },
      ],
    });
    const path = hookPath("one-per-round");
    const script = { delay_ms: 200, tool_calls: [{ name: "weather", arguments: {} }], tool_rounds: 2 };
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${path}`,
      input: `go #sim ${JSON.stringify(script)}`,
    });
    expect(res.status).toBe(202);
    const run = await e2e.waitForRun(res.body.id, ["completed"], 40_000);
    // Two tool rounds and the answer: three rounds, three responses, each counted once.
    const mine = (await simResponses()).filter((r) => r.metadata?.threadhook_run === res.body.id);
    expect(mine.map((r) => r.metadata.threadhook_round)).toEqual(["0", "1", "2"]);
    const openai = new OpenAI({ ...e2e.stack.ready.openai, maxRetries: 0 });
    let total = 0;
    for (const r of mine) total += (await openai.responses.retrieve(r.id)).usage?.total_tokens ?? 0;
    expect(total).toBeGreaterThan(0);
    expect(run.usage.total_tokens).toBe(total);
    expect(e2e.inbox.deliveries({ path: toolPath })).toHaveLength(2);
  });
});
