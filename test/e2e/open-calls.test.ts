/**
 * Issue 13, the soak's `invalid_prompt` runs: a response that asked for a tool after its run had
 * stopped following it left a function call open in the conversation, and OpenAI refused every later
 * response on it ("No tool output found for function call …"). Two ways it happened with the `call`
 * strategy: the call's connection dropped (the run fails `upstream_outcome_unknown`, the response
 * runs on), and QStash's call timed out at the run's deadline (the run expires, the response runs on).
 * Now a run's first create on a conversation first reads its newest items and closes such calls.
 * Own stack: the faults are consumed by these runs only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let assistantId: string;
beforeAll(async () => {
  // No DRIVE_STRATEGY, no OpenAI webhook secret: `auto` is `call`.
  e2e = await startE2E({ openaiDelayMs: 50 });
  assistantId = (
    await e2e.createAssistant({
      tools: [{ type: "function", function: { name: "ask_user", parameters: { type: "object" } } }],
    })
  ).id;
});
afterAll(async () => e2e?.close());

/** Asks for ask_user after `delayMs` of model time (× time scale 0.01). */
const asking = (text: string, delayMs: number) =>
  `${text} #sim ${JSON.stringify({ tool_calls: [{ name: "ask_user", arguments: {} }], delay_ms: delayMs })}`;
const send = (conversation: string, input: string, extra: Record<string, unknown> = {}) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    conversation,
    input,
    callback_url: `${e2e.inbox.url}${hookPath("open-calls")}`,
    ...extra,
  });
const simResponses = async () =>
  ((await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as { data: any[] }).data;
/** The run's responses upstream have all ended (the lost one has appended its function call). */
async function responsesEnded(runId: string) {
  const until = Date.now() + 20_000;
  for (;;) {
    const mine = (await simResponses()).filter((r) => r.metadata?.threadhook_run === runId);
    if (mine.length > 0 && mine.every((r) => ["completed", "failed", "cancelled"].includes(r.status)))
      return mine;
    if (Date.now() > until) throw new Error(`responses of ${runId} still running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const dropNextCreate = () => e2e.stack.openai.faults.set([{ kind: "drop_after_create", next: 1 }]);

describe("a function call a run left open in its conversation", () => {
  it("a call with no answer (`call` strategy): the next run on the conversation closes it and completes", async () => {
    const conversation = `open-calls:call:${Date.now()}`;
    const first = await send(conversation, "hello");
    expect((await e2e.waitForRun(first.body.id, ["completed", "failed"])).status).toBe("completed");
    dropNextCreate();
    const lost = await send(conversation, asking("ask me", 100));
    const failed = await e2e.waitForRun(lost.body.id, ["completed", "failed", "expired"]);
    expect({ status: failed.status, code: failed.last_error?.code }).toEqual({
      status: "failed",
      code: "upstream_outcome_unknown",
    });
    // The response QStash got no answer for ran on and asked for ask_user: its call is open.
    const [made] = await responsesEnded(lost.body.id);
    expect(made.status).toBe("completed");
    const next = await send(conversation, "still there?");
    const done = await e2e.waitForRun(next.body.id, ["completed", "failed", "expired"]);
    expect({ status: done.status, error: done.last_error }).toEqual({ status: "completed", error: null });
    expect(done.output.text).toBe("echo: still there?");
  });

  it("a call cut at the run's deadline: the next run, started before the response ends, closes its call and completes", async () => {
    const conversation = `open-calls:late:${Date.now()}`;
    // timeout_s 2: QStash waits 4 s for the answer (the deadline and a margin); the model takes 6 s.
    const late = await send(conversation, asking("ask me slowly", 600_000), { timeout_s: 2 });
    const expired = await e2e.waitForRun(late.body.id, ["completed", "failed", "expired"]);
    expect(expired.status).toBe("expired");
    // Sent while the response still runs: its first look finds nothing open, its create finds the
    // conversation locked; a later attempt looks again once the response has ended with its call.
    const next = await send(conversation, "anyone?");
    const [made] = await responsesEnded(late.body.id);
    expect(made).toMatchObject({ status: "completed", output_call_ids: [expect.any(String)] });
    const done = await e2e.waitForRun(next.body.id, ["completed", "failed", "expired"], 30_000);
    expect({ status: done.status, error: done.last_error }).toEqual({ status: "completed", error: null });
    expect(done.output.text).toBe("echo: anyone?");
  });
});
