/**
 * The Worker's callback signing (src/delivery/sign.ts, WebCrypto HMAC) against the Standard Webhooks
 * spec's test vector and the reference library that receivers verify with.
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../src/delivery/sign";

// The spec's example (standard-webhooks/spec/standard-webhooks.md, and its libraries' tests).
const SPEC = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  at: new Date(1614265330 * 1000 + 999),
  payload: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const OTHER = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;

describe("signWebhook", () => {
  it("signs the spec's test vector (the timestamp in whole seconds)", async () => {
    expect(await signWebhook([SPEC.secret], SPEC.id, SPEC.at, SPEC.payload)).toEqual({
      "webhook-id": SPEC.id,
      "webhook-timestamp": "1614265330",
      "webhook-signature": SPEC.signature,
    });
    // Without the `whsec_` prefix the key is the same.
    const bare = await signWebhook([SPEC.secret.slice(6)], SPEC.id, SPEC.at, SPEC.payload);
    expect(bare["webhook-signature"]).toBe(SPEC.signature);
  });

  it("signs with every secret of a rotation, each verifiable by the reference library", async () => {
    const at = new Date();
    const body = JSON.stringify({ type: "run.completed", text: "héllo ✓" });
    const headers = await signWebhook([OTHER, SPEC.secret], "evt_1", at, body);
    const [first, second] = headers["webhook-signature"].split(" ");
    expect(second).toBe(new Webhook(SPEC.secret).sign("evt_1", at, body));
    expect(first).toBe(new Webhook(OTHER).sign("evt_1", at, body));
    for (const secret of [OTHER, SPEC.secret])
      expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it("refuses to sign with no secret, an empty one or one that is not base64", async () => {
    await expect(signWebhook([], "evt", new Date(), "{}")).rejects.toThrow(/no webhook secret/);
    await expect(signWebhook(["whsec_"], "evt", new Date(), "{}")).rejects.toThrow(/empty/);
    await expect(signWebhook(["whsec_%%%"], "evt", new Date(), "{}")).rejects.toThrow(/not base64/);
  });
});
