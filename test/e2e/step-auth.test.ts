/**
 * Issue 7: step routes take only deliveries QStash signed for them. Missing, forged, expired,
 * not-yet-valid, body-tampered and wrong-URL signatures answer 401 and change nothing; the same
 * call correctly signed does change the run (so this test can fail).
 */
import { createHash, createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => e2e?.close());

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");
function jwt(
  key: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
) {
  const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${unsigned}.${createHmac("sha256", key).update(unsigned).digest("base64url")}`;
}
const bodyHash = (body: string) => createHash("sha256").update(body).digest("base64url");

describe("step route signatures", () => {
  it("refuses missing, forged, expired, tampered and misdirected step calls without any change", async () => {
    const tenant = await e2e.createTenant({ limits: { max_active_runs: 1 } });
    const admin = await tenant.issue("admin");
    const assistant = await e2e.createAssistant({}, admin.api);
    const send = (input: string) =>
      admin.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        input,
        callback_url: `${e2e.inbox.url}${hookPath("steps")}`,
      });
    const holder = await send('hold the slot #sim {"delay_ms": 3000000}');
    await e2e.waitForRun(holder.body.id, ["in_progress"], 20_000, admin.api);
    const waiting = await send("waiting for a slot");
    const target = waiting.body.id as string;

    const { currentSigningKey, nextSigningKey } = e2e.stack.ready.qstash;
    const url = `${e2e.worker}/internal/steps/drive`;
    const body = JSON.stringify({ tenant: tenant.id, run_id: target, seq: 0 });
    const now = Math.floor(Date.now() / 1000);
    const claims = (over: Record<string, unknown> = {}, forBody = body) => ({
      iss: "Upstash",
      sub: url,
      iat: now,
      nbf: now,
      exp: now + 300,
      jti: `jwt_${Math.random()}`,
      body: bodyHash(forBody),
      ...over,
    });
    const other = JSON.stringify({ tenant: tenant.id, run_id: target, seq: 7 });
    const cases: [string, Record<string, string>, string?][] = [
      ["no signature", {}],
      ["not a JWT", { "upstash-signature": "not-a-jwt" }],
      [
        "forged: signed with another key",
        { "upstash-signature": jwt("sig_7kYjw48mhY7kAjqNGcy6cr29RJ6X", claims()) },
      ],
      [
        "expired: right key, exp in the past",
        {
          "upstash-signature": jwt(
            currentSigningKey,
            claims({ iat: now - 400, nbf: now - 400, exp: now - 100 }),
          ),
        },
      ],
      [
        "expired, next key",
        {
          "upstash-signature": jwt(
            nextSigningKey,
            claims({ iat: now - 400, nbf: now - 400, exp: now - 100 }),
          ),
        },
      ],
      [
        "not yet valid",
        { "upstash-signature": jwt(currentSigningKey, claims({ nbf: now + 300, exp: now + 600 })) },
      ],
      ["tampered body", { "upstash-signature": jwt(currentSigningKey, claims({}, other)) }],
      [
        "wrong sub: the rescue route",
        {
          "upstash-signature": jwt(currentSigningKey, claims({ sub: `${e2e.worker}/internal/steps/rescue` })),
        },
      ],
      [
        "wrong sub: another host",
        {
          "upstash-signature": jwt(
            currentSigningKey,
            claims({ sub: "https://evil.example/internal/steps/drive" }),
          ),
        },
      ],
      ["wrong issuer", { "upstash-signature": jwt(currentSigningKey, claims({ iss: "Mallory" })) }],
      [
        "alg none",
        {
          "upstash-signature": `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(claims()))}.`,
        },
      ],
      ["no body claim", { "upstash-signature": jwt(currentSigningKey, claims({ body: undefined })) }],
    ];
    const post = (headers: Record<string, string>, path = "/internal/steps/drive", payload = body) =>
      fetch(`${e2e.worker}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: payload,
      });
    const simResponsesFor = async (runId: string) => {
      const list = (
        (await (
          await fetch(`${e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "")}/__sim/responses`)
        ).json()) as any
      ).data;
      return list.filter((r: any) => r.metadata?.threadhook_run === runId).length;
    };
    const before = (await admin.api("GET", `/v1/runs/${target}`)).body;
    expect(before.status).toBe("queued");

    for (const [name, headers] of cases) {
      const res = await post(headers);
      const answer = (await res.json()) as any;
      expect({ name, status: res.status, code: answer.error?.code }).toEqual({
        name,
        status: 401,
        code: "invalid_signature",
      });
    }
    // The rescue route too: a forged failure callback cannot republish a step.
    const rescue = JSON.stringify({ sourceBody: b64url(body) });
    const forgedRescue = await post(
      {
        "upstash-signature": jwt(
          "sig_forged000000000000000000000",
          claims({ sub: `${e2e.worker}/internal/steps/rescue` }, rescue),
        ),
      },
      "/internal/steps/rescue",
      rescue,
    );
    expect(forgedRescue.status).toBe(401);

    // An oversized delivery is refused before its signature is even looked at.
    const huge = await post(
      { "upstash-signature": jwt(currentSigningKey, claims()) },
      "/internal/steps/drive",
      "x".repeat(100_000),
    );
    expect(huge.status).toBe(413);

    await new Promise((r) => setTimeout(r, 300));
    expect((await admin.api("GET", `/v1/runs/${target}`)).body).toEqual(before);
    expect(await simResponsesFor(target)).toBe(0);

    // Control: the very same call, correctly signed, does move the run.
    const ok = await post({ "upstash-signature": jwt(currentSigningKey, claims()) });
    expect(ok.status).toBe(200);
    await e2e.waitForRun(target, ["in_progress", "completed"], 20_000, admin.api);
    expect(await simResponsesFor(target)).toBe(1);
    await admin.api("POST", `/v1/runs/${holder.body.id}/cancel`);
  });
});
