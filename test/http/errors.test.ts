/** Bad input gets a clear 4xx with a code; unknown ids 404; infrastructure faults change timing only. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hookPath } from "../support/e2e";
import { type InProcess, startInProcess } from "../support/in-process";

// In process (createApp().request): these are answered before any step runs.
let e2e: InProcess;
let assistantId: string;
beforeAll(async () => {
  e2e = await startInProcess();
  assistantId = (await e2e.api("POST", "/v1/assistants", { model: "gpt-sim" })).body.id;
});
afterAll(async () => e2e?.close());

const msg = (extra: Record<string, unknown> = {}) => ({
  assistant_id: assistantId,
  input: "hi",
  callback_url: `${e2e.inboxUrl}/x`,
  ...extra,
});

describe("errors", () => {
  it("answers every malformed request with a code, a message and the offending param", async () => {
    const cases: [string, unknown, number, string, string | null][] = [
      ["invalid JSON", "{not json", 400, "invalid_json", null],
      ["unknown field", msg({ colour: "blue" }), 400, "unknown_parameter", "colour"],
      ["wrong type", msg({ temperature: "hot" }), 400, "invalid_value", "temperature"],
      [
        "missing field",
        { assistant_id: assistantId, callback_url: `${e2e.inboxUrl}/x` },
        400,
        "missing_required_parameter",
        "input",
      ],
      [
        "both thread and conversation",
        msg({ thread_id: "thread_x", conversation: "c" }),
        400,
        "invalid_value",
        "conversation",
      ],
      [
        "too many metadata keys",
        msg({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }),
        400,
        "invalid_metadata",
        "metadata",
      ],
      ["deeply nested body", `{"input":${"[".repeat(40)}${"]".repeat(40)}}`, 400, "json_too_deep", null],
      ["string over its limit", msg({ model: "m".repeat(300) }), 400, "string_too_long", "model"],
      ["empty body", "", 400, "missing_required_parameter", "assistant_id"],
      ["JSON that is not an object", "[1,2,3]", 400, "invalid_value", null],
      [
        "too many tools",
        msg({ tools: Array.from({ length: 129 }, () => ({ type: "code_interpreter" })) }),
        400,
        "too_many_tools",
        "tools",
      ],
      [
        "schema too large",
        msg({
          tools: [
            {
              type: "function",
              function: { name: "f", parameters: { type: "object", description: "d".repeat(70_000) } },
            },
          ],
        }),
        400,
        "schema_too_large",
        "tools.0.function.parameters",
      ],
      [
        "callback to a metadata address",
        msg({ callback_url: "http://169.254.169.254/x" }),
        400,
        "callback_url_link_local_address",
        "callback_url",
      ],
      [
        "reserved callback header",
        msg({ callback_headers: { "webhook-id": "x" } }),
        400,
        "invalid_value",
        "callback_headers.webhook-id",
      ],
    ];
    for (const [name, body, status, code, param] of cases) {
      const r = await e2e.api("POST", "/v1/messages", body);
      expect({ name, status: r.status, code: r.body.error?.code }).toEqual({ name, status, code });
      expect(r.body.error.message.length).toBeGreaterThan(5);
      if (param) expect(r.body.error.param).toBe(param);
    }
  });

  it("refuses oversized bodies with 413 and a missing or wrong key with 401", async () => {
    const big = await e2e.api("POST", "/v1/messages", msg({ input: "x".repeat(1_100_000) }));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("body_too_large");
    const noKey = await e2e.fetch("/v1/assistants");
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as any).error.code).toBe("invalid_api_key");
    const wrong = await e2e.api("GET", "/v1/assistants", undefined, { authorization: "Bearer thk_wrong" });
    expect(wrong.status).toBe(401);
  });

  it("answers 404 for unknown assistants, threads, runs, conversations and routes", async () => {
    const checks: [string, string, unknown, string][] = [
      ["POST", "/v1/messages", { ...msg(), assistant_id: "asst_nope" }, "assistant_not_found"],
      ["POST", "/v1/messages", { ...msg(), thread_id: "thread_nope" }, "thread_not_found"],
      ["GET", "/v1/runs/run_nope", undefined, "run_not_found"],
      ["POST", "/v1/runs/run_nope/cancel", undefined, "run_not_found"],
      ["GET", "/v1/assistants/asst_nope", undefined, "assistant_not_found"],
      ["GET", "/v1/threads/thread_nope", undefined, "thread_not_found"],
      ["GET", "/v1/conversations/nope:1", undefined, "conversation_not_found"],
      ["GET", "/v1/nothing-here", undefined, "route_not_found"],
    ];
    for (const [method, path, body, code] of checks) {
      const r = await e2e.api(method, path, body);
      expect({ path, status: r.status, code: r.body.error?.code }).toEqual({ path, status: 404, code });
    }
  });

  it("maps conversation keys to threads and forgets them on delete", async () => {
    const key = `test:conv:${Date.now()}`;
    const path = hookPath("conv");
    const first = await e2e.api(
      "POST",
      "/v1/messages",
      msg({ conversation: key, callback_url: `${e2e.inboxUrl}${path}` }),
    );
    const got = await e2e.api("GET", `/v1/conversations/${key}`);
    expect(got.body).toMatchObject({ id: first.body.thread_id, object: "thread", conversation: key });
    // The key lives 90 days from its last use (sliding): the answer says until when.
    const in90Days = Date.now() / 1000 + 90 * 86_400;
    expect(got.body.expires_at).toBeGreaterThan(in90Days - 120);
    expect(got.body.expires_at).toBeLessThanOrEqual(in90Days + 1);
    expect((await e2e.api("GET", `/v1/threads/${first.body.thread_id}`)).body.id).toBe(first.body.thread_id);
    const del = await e2e.api("DELETE", `/v1/conversations/${key}`);
    expect(del.body).toEqual({ id: key, object: "conversation.deleted", deleted: true });
    const second = await e2e.api(
      "POST",
      "/v1/messages",
      msg({ conversation: key, callback_url: `${e2e.inboxUrl}${path}` }),
    );
    expect(second.body.thread_id).not.toBe(first.body.thread_id);
  });
});

describe("bounded threads", () => {
  it("holds at most 100 messages for a thread's next run: the 101st gets 409 too_many_held_messages", async () => {
    const thread = (await e2e.api("POST", "/v1/threads", {})).body.id as string;
    for (let i = 0; i < 100; i++) {
      const r = await e2e.api("POST", `/v1/threads/${thread}/messages`, { role: "user", content: `m${i}` });
      expect(r.status).toBe(200);
    }
    const over = await e2e.api("POST", `/v1/threads/${thread}/messages`, {
      role: "user",
      content: "one more",
    });
    expect({ status: over.status, code: over.body.error?.code }).toEqual({
      status: 409,
      code: "too_many_held_messages",
    });
    expect(over.body.error.message).toContain("100");
    const listed = await e2e.api("GET", `/v1/threads/${thread}/messages?limit=100`);
    expect(listed.body.data).toHaveLength(100);
  });
});
