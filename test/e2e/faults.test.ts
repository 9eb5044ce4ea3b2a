/**
 * Infrastructure faults change timing, never outcomes: Redis failing under the steps, until QStash
 * gives up on a step and its failure callback rescues it. Own stack, so nothing else consumes the
 * injected faults.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineScript } from "../../src/store/lua";
import { OUTBOX_ADVANCE } from "../../src/store/outbox-lua";
import { CLAIM, SAVE } from "../../src/store/scripts";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
let assistantId: string;
beforeAll(async () => {
  e2e = await startE2E();
  assistantId = (await e2e.createAssistant()).id;
});
afterAll(async () => e2e?.close());

const sha1 = (script: string) => createHash("sha1").update(script).digest("hex");
/** Fail the next `n` Redis REST requests that run `script` (EVALSHA carries its SHA-1). */
const failScript = (script: string, n: number) =>
  fetch(`${e2e.stack.ready.redis.url}/__faults`, {
    method: "POST",
    body: JSON.stringify({ failNext: n, status: 500, match: sha1(script) }),
  });
const send = (path: string, input: string) =>
  e2e.api("POST", "/v1/messages", {
    assistant_id: assistantId,
    input,
    callback_url: `${e2e.inbox.url}${path}`,
  });

/**
 * Fail the next `n` Redis REST requests whose body holds `text` (a run document travels as a JSON
 * string inside the request's JSON: its quotes are escaped).
 */
const failWrite = (text: string, n: number) =>
  fetch(`${e2e.stack.ready.redis.url}/__faults`, {
    method: "POST",
    body: JSON.stringify({ failNext: n, status: 500, match: JSON.stringify(text).slice(1, -1) }),
  });
const pollRun = async (id: string, done: (run: any) => boolean) => {
  for (const until = Date.now() + 20_000; Date.now() < until; ) {
    const r = await e2e.api("GET", `/v1/runs/${id}`);
    if (done(r.body)) return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`run ${id} never got there`);
};

describe("faults", () => {
  it("a callback answered 2xx whose save then fails is sent once (issue 13: duplicate callbacks)", async () => {
    // The save that records the 2xx (the record says "delivered") fails once. The step used to fail
    // with it, and QStash's retry found the event still pending and sent it again.
    await failWrite('"delivery":{"state":"delivered"', 1);
    const path = hookPath("saved-after-2xx");
    const res = await send(path, "deliver once");
    expect(res.status).toBe(202);
    const run = await pollRun(res.body.id, (r) => r?.delivery?.state === "delivered");
    expect((await (await fetch(`${e2e.stack.ready.redis.url}/__faults`)).json()).failNext).toBe(0);
    const got = e2e.inbox.deliveries({ path });
    expect(got.map((d) => (d.body as any)?.type)).toEqual(["run.completed"]);
    expect(run.delivery.attempts).toHaveLength(1);
  });

  it("a run's own event after progress events, answered 2xx, is sent once when moving the outbox's cursor fails", async () => {
    // The runner's end event waits for its turn in the outbox, is answered 2xx, then the cursor
    // moves past it (outbox_advance), which fails once: the step used to fail before its save.
    await failScript(defineScript(OUTBOX_ADVANCE).lua, 1);
    const path = hookPath("advance-after-2xx");
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistantId,
      input: "progress once",
      callback_url: `${e2e.inbox.url}${path}`,
      events: ["run.in_progress"],
    });
    expect(res.status).toBe(202);
    await pollRun(res.body.id, (r) => r?.delivery?.state === "delivered");
    expect((await (await fetch(`${e2e.stack.ready.redis.url}/__faults`)).json()).failNext).toBe(0);
    const got = e2e.inbox.deliveries({ path }).filter((d) => d.answered_status === 200);
    expect(got.map((d) => (d.body as any)?.type)).toEqual(["run.in_progress", "run.completed"]);
  });

  it("a step QStash gives up on (every claim fails) is rescued through the failure callback and completes", async () => {
    const before = e2e.stack.qstash.stats();
    await failScript(CLAIM, 4); // the first delivery and all 3 retries of the first step
    const path = hookPath("rescued");
    const res = await send(path, "rescue me");
    expect(res.status).toBe(202);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((d?.body as any)?.type).toBe("run.completed");
    expect((d?.body as any).data.run.output.text).toBe("echo: rescue me");
    const after = e2e.stack.qstash.stats();
    expect(after.dlq - before.dlq).toBe(1);
    expect(
      (after.byDestinationPath["/internal/steps/rescue"] ?? 0) -
        (before.byDestinationPath["/internal/steps/rescue"] ?? 0),
    ).toBe(1);
  });

  it("a step whose save fails mid-run lets go of the run, and QStash's retry finishes it", async () => {
    const path = hookPath("save-fault");
    const res = await send(path, 'slow one #sim {"delay_ms": 150000}');
    expect(res.status).toBe(202);
    await e2e.waitForRun(res.body.id, ["in_progress"]); // 150 s × time scale 0.01
    await failScript(SAVE, 1); // the step's next save (the one at the end of the response)
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 20_000 });
    expect((d?.body as any)?.type).toBe("run.completed");
    expect((d?.body as any).data.run.output.text).toBe("echo: slow one");
    const run = await e2e.waitForRun(res.body.id, ["completed"]);
    // One upstream response: the retry resumed watching it instead of creating another.
    expect(run.timeline.filter((t: { status: string }) => t.status === "completed")).toHaveLength(1);
    const faults = await (await fetch(`${e2e.stack.ready.redis.url}/__faults`)).json();
    expect(faults.failNext).toBe(0);
  });
});
