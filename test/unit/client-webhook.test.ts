/**
 * The typed client's `verifyWebhook` against the Standard Webhooks spec's own test vector (secret,
 * id, timestamp, payload and signature as the spec and its reference libraries publish them), and
 * its refusals: tampered body, expired or future timestamp, unknown secret, missing headers, only
 * non-`v1` signatures. Its retries and typed errors over a scripted `fetch`.
 */
import { describe, expect, it } from "vitest";
import {
  signWebhook,
  Threadhook,
  ThreadhookError,
  verifyWebhook,
  WebhookVerificationError,
} from "../../client/src/index";

// The spec's example (standard-webhooks/spec/standard-webhooks.md, and its libraries' tests).
const SPEC = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const headers = (signature = SPEC.signature, timestamp = SPEC.timestamp, id = SPEC.id) => ({
  "webhook-id": id,
  "webhook-timestamp": String(timestamp),
  "webhook-signature": signature,
});
const at = { now: SPEC.timestamp };
const reason = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return (err as WebhookVerificationError).reason;
  }
  throw new Error("expected a refusal");
};
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;

describe("verifyWebhook", () => {
  it("signs and verifies the spec's test vector", async () => {
    expect(await signWebhook(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.payload)).toBe(SPEC.signature);
    expect(await verifyWebhook(SPEC.payload, headers(), SPEC.secret, at)).toEqual({ test: 2432232314 });
    // The secret without its prefix, a Headers object, and the body as bytes work the same.
    const bytes = new TextEncoder().encode(SPEC.payload);
    expect(await verifyWebhook(bytes, new Headers(headers()), SPEC.secret.slice(6), at)).toEqual({
      test: 2432232314,
    });
  });

  it("accepts any v1 signature of several (a rotation) and any of several secrets", async () => {
    const many = `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,ignored ${SPEC.signature}`;
    expect(await verifyWebhook(SPEC.payload, headers(many), SPEC.secret, at)).toEqual({ test: 2432232314 });
    expect(await verifyWebhook(SPEC.payload, headers(), [OTHER_SECRET, SPEC.secret], at)).toEqual({
      test: 2432232314,
    });
  });

  it("refuses a tampered body, id or timestamp", async () => {
    expect(await reason(verifyWebhook('{"test": 2432232315}', headers(), SPEC.secret, at))).toBe(
      "bad_signature",
    );
    expect(
      await reason(
        verifyWebhook(SPEC.payload, headers(SPEC.signature, SPEC.timestamp, "msg_other"), SPEC.secret, at),
      ),
    ).toBe("bad_signature");
    expect(
      await reason(verifyWebhook(SPEC.payload, headers(SPEC.signature, SPEC.timestamp + 1), SPEC.secret, at)),
    ).toBe("bad_signature");
    // The signature bytes right, under another scheme name.
    expect(
      await reason(verifyWebhook(SPEC.payload, headers(`v2,${SPEC.signature.slice(3)}`), SPEC.secret, at)),
    ).toBe("bad_signature");
  });

  it("refuses an expired or future timestamp (default tolerance 5 minutes)", async () => {
    const late = { now: SPEC.timestamp + 301 };
    expect(await reason(verifyWebhook(SPEC.payload, headers(), SPEC.secret, late))).toBe("timestamp_too_old");
    expect(
      await reason(verifyWebhook(SPEC.payload, headers(), SPEC.secret, { now: SPEC.timestamp - 301 })),
    ).toBe("timestamp_too_new");
    expect(await verifyWebhook(SPEC.payload, headers(), SPEC.secret, { ...late, toleranceS: 600 })).toEqual({
      test: 2432232314,
    });
    // The real clock: 2021's vector is long expired.
    expect(await reason(verifyWebhook(SPEC.payload, headers(), SPEC.secret))).toBe("timestamp_too_old");
  });

  it("refuses an unknown secret and missing or malformed headers", async () => {
    expect(await reason(verifyWebhook(SPEC.payload, headers(), OTHER_SECRET, at))).toBe("bad_signature");
    expect(await reason(verifyWebhook(SPEC.payload, headers(), [], at))).toBe("bad_signature");
    const { "webhook-id": _id, ...noId } = headers();
    expect(await reason(verifyWebhook(SPEC.payload, noId, SPEC.secret, at))).toBe("missing_headers");
    expect(
      await reason(
        verifyWebhook(SPEC.payload, { ...headers(), "webhook-timestamp": "soon" }, SPEC.secret, at),
      ),
    ).toBe("bad_timestamp");
  });
});

describe("Threadhook client over a scripted fetch", () => {
  const scripted = (answers: Response[]) => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetchFn = (async (url: URL, init: RequestInit) => {
      calls.push({ url: String(url), init });
      const next = answers.shift();
      if (!next) throw new Error("no more answers");
      return next;
    }) as unknown as typeof fetch;
    return { calls, fetchFn };
  };
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  const busy = (status: number) =>
    json(
      status,
      { error: { type: "rate_limit_error", code: "rate_limited", message: "Slow down.", param: null } },
      {
        "retry-after": "0",
      },
    );

  it("retries 429 and 503 as Retry-After says, keeping one Idempotency-Key", async () => {
    const { calls, fetchFn } = scripted([busy(429), busy(503), json(202, { id: "run_1" })]);
    const client = new Threadhook({ apiKey: "test-key", baseUrl: "http://127.0.0.1:9/", fetch: fetchFn });
    const run = await client.sendMessage({
      assistant_id: "asst_1",
      input: "hi",
      callback_url: "http://127.0.0.1:9/cb",
    });
    expect(run.id).toBe("run_1");
    expect(calls).toHaveLength(3);
    const keys = calls.map((c) => (c.init.headers as Record<string, string>)["idempotency-key"]);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls[0]?.url).toBe("http://127.0.0.1:9/v1/messages");
  });

  it("gives up after maxRetries with a typed error carrying type, code and param", async () => {
    const { calls, fetchFn } = scripted([busy(429), busy(429)]);
    const client = new Threadhook({
      apiKey: "test-key",
      baseUrl: "http://127.0.0.1:9",
      fetch: fetchFn,
      maxRetries: 1,
    });
    const err = await client.getRun("run_1").catch((e) => e);
    expect(err).toBeInstanceOf(ThreadhookError);
    expect(err).toMatchObject({ status: 429, type: "rate_limit_error", code: "rate_limited", param: null });
    expect(calls).toHaveLength(2);
    // A 400 is not retried.
    const bad = scripted([
      json(400, {
        error: {
          type: "invalid_request_error",
          code: "string_too_long",
          message: "Too long.",
          param: "input",
        },
      }),
    ]);
    const once = new Threadhook({ apiKey: "test-key", baseUrl: "http://127.0.0.1:9", fetch: bad.fetchFn });
    await expect(once.getRun("run_1")).rejects.toMatchObject({
      status: 400,
      code: "string_too_long",
      param: "input",
    });
    expect(bad.calls).toHaveLength(1);
  });
});
