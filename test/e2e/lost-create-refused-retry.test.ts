/**
 * Issue 13 (two duplicate upstream responses in the 10,000-run soak): a create whose answer is
 * lost (the OpenAI stand-in accepts it, then drops the connection), a second attempt while that
 * response is still running (its look finds nothing yet) that is refused outright (429: no
 * response made by that attempt), and a third attempt once the first response has ended. The 429
 * used to clear the round's create intent, as if no response existed, so the third attempt
 * neither looked nor met `conversation_locked` (the response had ended) and created the round
 * again: two responses for one round, the answer twice in the conversation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    // Responses take 2 s (× time scale 0.01): still running at the retry 1 s after the lost answer,
    // ended by the attempt after the 429's 2 s backoff.
    openaiDelayMs: 200_000,
    workerVars: { DRIVE_STRATEGY: "poll" },
    faults: { openai: [{ kind: "drop_after_create", next: 1 }] },
  });
});
afterAll(async () => e2e?.close());

const openai = (path: string, init?: RequestInit) =>
  fetch(`${e2e.stack.openai.url}${path}`, init).then((r) => r.json() as Promise<any>);

describe("a create whose answer was lost, then a retry refused outright", () => {
  it("still does not create the round again: one response, one answer", async () => {
    const assistant = await e2e.createAssistant();
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      callback_url: `${e2e.inbox.url}${hookPath("lost-create-refused")}`,
      input: "hello there",
    });
    expect(res.status).toBe(202);
    // Once the first create's answer is lost, the next create is refused with a 429.
    const until = Date.now() + 10_000;
    while ((await openai("/__faults")).injected.drop_after_create !== 1) {
      if (Date.now() > until) throw new Error("the create was never dropped");
      await new Promise((r) => setTimeout(r, 10));
    }
    await openai("/__faults", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        rules: [{ kind: "http_error", status: 429, next: 1, match: "POST /v1/responses" }],
      }),
    });
    const run = await e2e.waitForRun(res.body.id, ["completed", "failed"], 30_000);
    const faults = await openai("/__faults");
    expect(faults.injected).toMatchObject({ drop_after_create: 1, http_error: 1 });
    const mine = (await openai("/__sim/responses")).data.filter(
      (r: any) => r.metadata?.threadhook_run === res.body.id,
    );
    expect(mine.map((r: any) => r.metadata.threadhook_round)).toEqual(["0"]);
    expect(run.status).toBe("completed");
    expect(run.output.text).toBe("echo: hello there");
    const messages = (await e2e.api("GET", `/v1/threads/${run.thread_id}/messages?order=asc`)).body.data;
    expect(messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
  });
});
