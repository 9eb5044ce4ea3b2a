/**
 * Issue 7, outbound side: per-tenant webhook secrets and their rotation window (two signatures),
 * redirects never followed, hostile callback and tool URLs refused.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { registerSecrets } from "../support/log-capture/registry.ts";

let e2e: E2E;
let redirector: Server;
let redirectorUrl: string;
let redirectTarget: string;

beforeAll(async () => {
  e2e = await startE2E();
  redirectTarget = hookPath("redirect-target");
  redirector = createServer((_req, res) => {
    res.writeHead(302, { location: `${e2e.inbox.url}${redirectTarget}` });
    res.end();
  });
  await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", r));
  redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  redirector?.close();
  await e2e?.close();
});

const signatures = (d: any) => String(d.headers["webhook-signature"]).split(" ");
const verifies = (secret: string, d: any) => {
  try {
    new Webhook(secret).verify(d.raw, d.headers);
    return true;
  } catch {
    return false;
  }
};

describe("webhook secrets per tenant", () => {
  it("signs with the tenant's secret; during a rotation window with both; after it with the new one", async () => {
    const tenant = await e2e.createTenant();
    const admin = await tenant.issue("admin");
    const assistant = await e2e.createAssistant({}, admin.api);
    const deliver = async (name: string) => {
      const path = hookPath(name);
      const r = await admin.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        input: name,
        callback_url: `${e2e.inbox.url}${path}`,
      });
      expect(r.status).toBe(202);
      const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
      return d as any;
    };
    const s1 = tenant.webhookSecret;
    const first = await deliver("before");
    expect(signatures(first)).toHaveLength(1);
    expect(verifies(s1, first)).toBe(true);
    expect(first.verified).toBe(false); // the inbox holds the dev secret, not this tenant's

    const rotated = await admin.api("POST", "/v1/webhook_secrets/rotate", { window_s: 600 });
    expect(rotated.status).toBe(200);
    const s2 = rotated.body.webhook_secret as string;
    registerSecrets({ rotatedSecret: s2 });
    expect(s2).not.toBe(s1);
    expect(rotated.body.secrets).toEqual([
      expect.objectContaining({ expires_at: expect.any(Number) }),
      expect.objectContaining({ id: rotated.body.id, expires_at: null }),
    ]);
    expect(JSON.stringify(rotated.body.secrets)).not.toContain("whsec_");
    const during = await deliver("during");
    expect(signatures(during)).toHaveLength(2);
    expect(verifies(s1, during)).toBe(true);
    expect(verifies(s2, during)).toBe(true);

    const again = await e2e.admin("POST", `/v1/admin/tenants/${tenant.id}/webhook_secrets/rotate`, {
      window_s: 0,
    });
    const s3 = again.body.webhook_secret as string;
    registerSecrets({ rotatedAgain: s3 });
    const after = await deliver("after");
    expect(signatures(after)).toHaveLength(1);
    expect(verifies(s3, after)).toBe(true);
    expect(verifies(s2, after)).toBe(false);
  });

  it("tenant 'default' signs with WEBHOOK_SECRET until it rotates", async () => {
    const assistant = await e2e.createAssistant();
    const path = hookPath("default-tenant");
    await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      input: "x",
      callback_url: `${e2e.inbox.url}${path}`,
    });
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((d as any).verified).toBe(true);
    expect(signatures(d)).toHaveLength(1);
  });
});

describe("outbound URLs", () => {
  it("never follows a redirect: the attempt fails and the target sees nothing", async () => {
    const assistant = await e2e.createAssistant();
    const r = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistant.id,
      input: "x",
      callback_url: `${redirectorUrl}/hook`,
    });
    const until = Date.now() + 15_000;
    let run: any;
    do {
      run = (await e2e.api("GET", `/v1/runs/${r.body.id}`)).body;
      if (run.delivery.state === "failed") break;
      await new Promise((res) => setTimeout(res, 50));
    } while (Date.now() < until);
    expect(run.delivery.state).toBe("failed");
    expect(run.delivery.attempts.map((a: any) => a.status)).toEqual([302, 302, 302]);
    expect(e2e.inbox.deliveries({ path: redirectTarget })).toHaveLength(0);
  });

  it("refuses hostile callback and tool endpoint URLs with the policy's reason", async () => {
    const assistant = await e2e.createAssistant();
    const cases: [string, string][] = [
      ["ftp://127.0.0.1/x", "scheme_not_allowed"],
      ["http://user:pw@127.0.0.1:8082/x", "userinfo_not_allowed"],
      ["http://10.0.0.1/x", "private_address"],
      ["http://[::ffff:169.254.169.254]/x", "link_local_address"],
      ["http://0x0a000001/x", "private_address"],
      ["http://metadata.google.internal/x", "internal_hostname"],
    ];
    for (const [url, reason] of cases) {
      const cb = await e2e.api("POST", "/v1/messages", {
        assistant_id: assistant.id,
        input: "x",
        callback_url: url,
      });
      expect({ url, status: cb.status, code: cb.body.error.code }).toEqual({
        url,
        status: 400,
        code: `callback_url_${reason}`,
      });
      const tool = await e2e.api("POST", "/v1/assistants", {
        model: "gpt-sim",
        tools: [{ type: "function", function: { name: "f" }, endpoint: { url } }],
      });
      expect({ url, status: tool.status, code: tool.body.error.code }).toEqual({
        url,
        status: 400,
        code: `endpoint_url_${reason}`,
      });
    }
  });
});
