/**
 * Issue 7: tenants and keys through the operator API and CLI, roles, assistant scopes, revocation,
 * and isolation — another tenant's id answers 404 on every route and changes nothing.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, type E2E, hookPath, startE2E } from "../support/e2e";
import { registerSecrets } from "../support/log-capture/registry.ts";
import { BODY_REFERENCES, label, ROUTES, type TenantIds } from "../support/routes";
import { type PopulatedTenant, populatedTenant } from "../support/tenants";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => e2e?.close());

describe("operator API", () => {
  it("creates tenants, refuses duplicates, and only answers the operator key", async () => {
    const id = `acme-${Date.now()}`;
    const created = await e2e.admin("POST", "/v1/admin/tenants", { id, name: "Acme" });
    expect(created.status).toBe(201);
    registerSecrets({ acmeSecret: created.body.webhook_secret });
    expect(created.body).toMatchObject({ id, object: "tenant", name: "Acme" });
    expect(created.body.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect((await e2e.admin("POST", "/v1/admin/tenants", { id })).status).toBe(409);
    expect((await e2e.admin("GET", `/v1/admin/tenants/${id}`)).body).not.toHaveProperty("webhook_secret");
    const list = await e2e.admin("GET", "/v1/admin/tenants");
    expect(list.body.data.map((t: { id: string }) => t.id)).toContain(id);

    const tenantAdmin = await (await e2e.createTenant()).issue("admin");
    for (const key of [tenantAdmin.key, e2e.stack.ready.apiKey as string, "wrong"]) {
      const r = await e2e.client(key)("GET", "/v1/admin/tenants");
      expect({ status: r.status, code: r.body.error.code }).toEqual({
        status: 401,
        code: "invalid_operator_key",
      });
    }
  });

  it("shows a key once and stores only its hash", async () => {
    const tenant = await e2e.createTenant();
    const k = await tenant.issue("member", { name: "ci" });
    expect(k.key).toMatch(/^thk_[A-Za-z0-9]{32}$/);
    const listed = await e2e.admin("GET", `/v1/admin/tenants/${tenant.id}/keys`);
    expect(listed.body.data).toEqual([
      expect.objectContaining({
        id: k.id,
        role: "member",
        name: "ci",
        hint: k.key.slice(0, 8),
        revoked_at: null,
      }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(k.key);
    expect(JSON.stringify(listed.body)).not.toContain("hash");
    // Nothing in Redis holds the key itself.
    const { url, token } = e2e.stack.ready.redis;
    const redis = async (cmd: unknown[]) =>
      (
        (await (
          await fetch(url, {
            method: "POST",
            headers: { authorization: `Bearer ${token}` },
            body: JSON.stringify(cmd),
          })
        ).json()) as any
      ).result;
    const names: string[] = await redis(["KEYS", "*"]);
    const dump = await Promise.all(
      names.map(async (n) =>
        JSON.stringify(
          await redis(["TYPE", n]).then((t) =>
            t === "hash" ? redis(["HGETALL", n]) : t === "string" ? redis(["GET", n]) : null,
          ),
        ),
      ),
    );
    expect(names.some((n) => n.includes(k.key))).toBe(false);
    expect(dump.some((d) => d.includes(k.key))).toBe(false);
  });

  it("npm run admin drives the same API", async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ["scripts/admin.ts", ...args], {
        env: {
          ...process.env,
          THREADHOOK_URL: e2e.worker,
          THREADHOOK_OPERATOR_KEY: e2e.stack.ready.operatorKey,
        },
      }).then((r) => JSON.parse(r.stdout));
    const id = `cli-${Date.now()}`;
    const tenant = await run("tenants", "create", "--id", id, "--name", "Via CLI", "--max-active-runs", "3");
    registerSecrets({ cliSecret: tenant.webhook_secret });
    expect(tenant).toMatchObject({ id, name: "Via CLI", limits: { max_active_runs: 3 } });
    const key = await run("keys", "create", id, "--role", "editor", "--name", "from-cli");
    registerSecrets({ cliKey: key.key });
    expect(key).toMatchObject({ role: "editor", name: "from-cli", tenant: id });
    expect((await e2e.client(key.key)("GET", "/v1/assistants")).status).toBe(200);
    expect((await run("keys", "list", id)).data).toHaveLength(1);
    await run("keys", "revoke", id, key.id);
    expect((await e2e.client(key.key)("GET", "/v1/assistants")).status).toBe(401);
    expect(await run("tenants", "update", id, "--max-active-runs", "default")).toMatchObject({
      limits: { max_active_runs: null },
    });
    expect(await run("usage", id, "--month", "2026-01")).toMatchObject({
      object: "usage",
      month: "2026-01",
      runs: 0,
    });
    const failed = await promisify(execFile)(
      process.execPath,
      ["scripts/admin.ts", "keys", "create", id, "--role", "owner"],
      {
        env: {
          ...process.env,
          THREADHOOK_URL: e2e.worker,
          THREADHOOK_OPERATOR_KEY: e2e.stack.ready.operatorKey,
        },
      },
    ).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 1 });
  });
});

describe("roles", () => {
  it("each route refuses roles below its own with 403 and serves the others", async () => {
    const { tenant, ids } = await populatedTenant(e2e, "roles");
    const keys = {
      member: (await tenant.issue("member")).api,
      editor: (await tenant.issue("editor")).api,
      admin: (await tenant.issue("admin")).api,
    };
    const order = ["member", "editor", "admin"] as const;
    for (const route of ROUTES) {
      for (const role of order) {
        const r = await keys[role](route.method, route.path(ids), route.body?.(ids));
        const allowed = order.indexOf(role) >= order.indexOf(route.role);
        const seen = { route: label(route), role, status: r.status, code: r.body?.error?.code ?? null };
        if (allowed) expect(seen.status, JSON.stringify(seen)).not.toBe(403);
        else expect(seen).toEqual({ ...seen, status: 403, code: "insufficient_role" });
      }
    }
  });

  it("a member key cannot create assistants; an editor key cannot issue keys; an admin cannot issue above itself", async () => {
    const tenant = await e2e.createTenant();
    const member = await tenant.issue("member");
    const r = await member.api("POST", "/v1/assistants", { model: "gpt-sim" });
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 403, code: "insufficient_role" });
    const editor = await tenant.issue("editor");
    expect((await editor.api("POST", "/v1/keys", { role: "member" })).status).toBe(403);
    const scopedAdmin = await tenant.issue("admin", { assistant_ids: ["asst_a"] });
    const wider = await scopedAdmin.api("POST", "/v1/keys", { role: "member" });
    expect({ status: wider.status, code: wider.body.error.code }).toEqual({
      status: 403,
      code: "assistant_not_allowed",
    });
    const narrower = await scopedAdmin.api("POST", "/v1/keys", { role: "member", assistant_ids: ["asst_a"] });
    registerSecrets({ narrower: narrower.body.key });
    expect(narrower.status).toBe(201);
  });
});

describe("assistant scopes", () => {
  it("a key scoped to one assistant cannot run, read, change or list another", async () => {
    const tenant = await e2e.createTenant();
    const admin = await tenant.issue("admin");
    const mine = await e2e.createAssistant({ name: "mine" }, admin.api);
    const other = await e2e.createAssistant({ name: "other" }, admin.api);
    const otherRun = await admin.api("POST", "/v1/messages", {
      assistant_id: other.id,
      input: "x",
      callback_url: `${e2e.inbox.url}${hookPath("scope")}`,
    });
    const scoped = await tenant.issue("editor", { assistant_ids: [mine.id] });
    const message = (assistant_id: string) => ({
      assistant_id,
      input: "hi",
      callback_url: `${e2e.inbox.url}${hookPath("scope")}`,
    });
    const refused: [string, string, unknown?][] = [
      ["POST", "/v1/messages", message(other.id)],
      ["GET", `/v1/assistants/${other.id}`],
      ["PATCH", `/v1/assistants/${other.id}`, { name: "taken" }],
      ["DELETE", `/v1/assistants/${other.id}`],
      ["GET", `/v1/runs/${otherRun.body.id}`],
      ["POST", `/v1/runs/${otherRun.body.id}/cancel`],
    ];
    for (const [method, path, body] of refused) {
      const r = await scoped.api(method, path, body);
      expect({ path, method, status: r.status, code: r.body.error?.code }).toEqual({
        path,
        method,
        status: 403,
        code: "assistant_not_allowed",
      });
    }
    const ok = await scoped.api("POST", "/v1/messages", message(mine.id));
    expect(ok.status).toBe(202);
    expect((await scoped.api("GET", `/v1/runs/${ok.body.id}`)).status).toBe(200);
    const listed = await scoped.api("GET", "/v1/assistants");
    expect(listed.body.data.map((a: { id: string }) => a.id)).toEqual([mine.id]);
    expect((await admin.api("GET", `/v1/assistants/${other.id}`)).body.name).toBe("other");
  });
});

describe("revocation", () => {
  it("a revoked key is refused on its very next request, by the operator or by a tenant admin", async () => {
    const tenant = await e2e.createTenant();
    const admin = await tenant.issue("admin");
    for (const revoke of [
      (id: string) => e2e.admin("DELETE", `/v1/admin/tenants/${tenant.id}/keys/${id}`),
      (id: string) => admin.api("DELETE", `/v1/keys/${id}`),
    ]) {
      const k = await tenant.issue("member");
      expect((await k.api("GET", "/v1/assistants")).status).toBe(200);
      const r = await revoke(k.id);
      expect(r.status).toBe(200);
      expect(r.body.revoked_at).toEqual(expect.any(Number));
      const after = await k.api("GET", "/v1/assistants");
      expect({ status: after.status, code: after.body.error.code }).toEqual({
        status: 401,
        code: "invalid_api_key",
      });
    }
    const listed = await admin.api("GET", "/v1/keys");
    expect(listed.body.data.filter((k: any) => k.revoked_at !== null)).toHaveLength(2);
  });
});

describe("tenant isolation", () => {
  let a: PopulatedTenant;
  let b: PopulatedTenant;
  beforeAll(async () => {
    a = await populatedTenant(e2e, "alpha-private");
    b = await populatedTenant(e2e, "bravo");
  });

  const snapshot = async (api: Api, ids: TenantIds) => ({
    assistant: (await api("GET", `/v1/assistants/${ids.assistant}`)).body,
    conversation: (await api("GET", `/v1/conversations/${ids.conversation}`)).body,
    keys: (await api("GET", "/v1/keys")).body.data.map((k: any) => [k.id, k.revoked_at]),
  });

  it("every route answers 404 for another tenant's ids, reveals nothing and changes nothing", async () => {
    await e2e.waitForRun(a.ids.run, ["completed"], 20_000, a.admin.api);
    const before = await snapshot(a.admin.api, a.ids);
    const runBefore = (await a.admin.api("GET", `/v1/runs/${a.ids.run}`)).body;
    const theirs = { ...a.ids, callbackUrl: b.ids.callbackUrl };
    const cases = [
      ...ROUTES.filter((r) => r.namesObject).map((r) => ({
        name: label(r),
        method: r.method,
        path: r.path(theirs),
        body: r.body?.(theirs),
      })),
      ...BODY_REFERENCES.map((r) => ({
        name: `POST /v1/messages with ${r.name}`,
        method: "POST",
        path: "/v1/messages",
        body: r.body(a.ids, b.ids),
      })),
    ];
    expect(cases.length).toBeGreaterThanOrEqual(15);
    for (const c of cases) {
      const r = await b.admin.api(c.method, c.path, c.body);
      expect({ case: c.name, status: r.status }).toEqual({ case: c.name, status: 404 });
      expect(r.body.error.code, c.name).toMatch(/_not_found$/);
      expect(JSON.stringify(r.body), c.name).not.toMatch(
        /secret alpha-private|private text|tenant alpha-private|"marker"/,
      );
    }
    expect(await snapshot(a.admin.api, a.ids)).toEqual(before);
    const runAfter = (await a.admin.api("GET", `/v1/runs/${a.ids.run}`)).body;
    expect(runAfter).toEqual(runBefore);
  });
});
