/**
 * Issue 17: the QStash Receiver never falls back to the public dev signing keys. `@upstash/qstash`
 * switches to them when QSTASH_DEV is true in `process.env`, which `nodejs_compat` fills with the
 * Worker's variables: the step queue pins dev mode off, so only the configured keys verify.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEV_CURRENT_SIGNING_KEY } from "../../dev/qstash-server/server.ts";
import { signDelivery } from "../../dev/qstash-server/jwt.ts";
import { createStepQueue, STEP_PATH } from "../../src/queue/steps";

const url = `https://threadhook.example${STEP_PATH}`;
const body = JSON.stringify({ tenant: "default", run_id: "run_x", seq: 0 });
const queue = () =>
  createStepQueue({
    url: "http://127.0.0.1:9",
    token: "qstash-token",
    currentSigningKey: "sig_ownCurrentKey000000000000",
    nextSigningKey: "sig_ownNextKey00000000000000000",
    baseUrl: "https://threadhook.example",
  });

describe("step signature verification", () => {
  const saved = process.env.QSTASH_DEV;
  afterEach(() => {
    if (saved === undefined) delete process.env.QSTASH_DEV;
    else process.env.QSTASH_DEV = saved;
  });

  it("accepts only the configured keys, also with QSTASH_DEV=true in the environment", async () => {
    process.env.QSTASH_DEV = "true";
    const q = queue();
    const devSigned = signDelivery(DEV_CURRENT_SIGNING_KEY, url, Buffer.from(body));
    const ownSigned = signDelivery("sig_ownCurrentKey000000000000", url, Buffer.from(body));
    const nextSigned = signDelivery("sig_ownNextKey00000000000000000", url, Buffer.from(body));
    expect(await q.verify(devSigned, body, url)).toBe(false);
    expect(await q.verify(ownSigned, body, url)).toBe(true);
    expect(await q.verify(nextSigned, body, url)).toBe(true);
  });
});
