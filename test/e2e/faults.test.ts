/**
 * Infrastructure faults change timing, never outcomes: Redis failing under the steps, until QStash
 * gives up on a step and its failure callback rescues it. Own stack, so nothing else consumes the
 * injected faults.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveRunWithEvent } from "../../src/store/feed";
import { CLAIM } from "../../src/store/scripts";
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

describe("faults", () => {
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
    // The step's next save (the one at the end of the response). A run whose state stands for an
    // event (in_progress, completed) is saved by the script that also appends it to its feed.
    await failScript(saveRunWithEvent.lua, 1);
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
