/**
 * Issue 17: the role × scope × route matrix. For every route of the route table and every kind of
 * tenant key — member, editor, admin; unscoped, scoped to the assistant the route's objects belong
 * to, scoped to another assistant — the app answers what test/support/access-matrix.ts computes
 * from the table (and docs/tenants.md shows). Each kind of key gets a tenant of its own, so the
 * destructive routes at the end of the table find their objects.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role } from "../../src/security/roles";
import { type Expected, expected, OPERATOR_ONLY, type Scope, SCOPES } from "../support/access-matrix";
import { fileFixtures, integrationFixture, scheduleFixture } from "../support/files";
import { type InProcess, startInProcess } from "../support/in-process";
import { registerSecrets } from "../support/log-capture/registry.ts";
import { ADMIN_ROUTES, label, ROUTES, type TenantIds } from "../support/routes";

let app: InProcess;
beforeAll(async () => {
  app = await startInProcess();
});
afterAll(async () => app?.close());

/** A tenant holding one of each object the routes name (of assistant A), and the key under test. */
async function fixture(role: Role, scope: Scope) {
  const t = await app.admin("POST", "/v1/admin/tenants", {});
  registerSecrets({ [`tenant ${t.body.id}`]: t.body.webhook_secret });
  const issue = async (body: Record<string, unknown>) => {
    const k = await app.admin("POST", `/v1/admin/tenants/${t.body.id}/keys`, body);
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    registerSecrets({ [`key ${k.body.id}`]: k.body.key });
    return { id: k.body.id as string, key: k.body.key as string, api: app.client(k.body.key) };
  };
  const owner = await issue({ role: "admin" });
  const assistant = async () => (await owner.api("POST", "/v1/assistants", { model: "gpt-sim" })).body.id;
  const [a, b] = [await assistant(), await assistant()];
  const conversation = `matrix:${role}:${scope.replace(" ", "-")}`;
  const callbackUrl = `${app.inboxUrl}/hooks/matrix`;
  const run = await owner.api("POST", "/v1/messages", {
    assistant_id: a,
    conversation,
    input: "hi",
    callback_url: callbackUrl,
  });
  expect(run.status).toBe(202);
  const [message] = (await owner.api("GET", `/v1/threads/${run.body.thread_id}/messages`)).body.data;
  const victim = await issue({ role: "member", assistant_ids: [a] });
  const scoped = { unscoped: null, "in scope": [a], outside: [b] }[scope];
  const key = await issue({ role, ...(scoped ? { assistant_ids: scoped } : {}) });
  const ids: TenantIds = {
    assistant: a,
    thread: run.body.thread_id,
    run: run.body.id,
    conversation,
    message: message.id,
    key: victim.id,
    callbackUrl,
    ...(await fileFixtures(app.fetch, owner.key, `matrix-${role}-${scope.replace(" ", "-")}`)),
    ...(await scheduleFixture(app.fetch, owner.key, a, callbackUrl)),
    ...(await integrationFixture(app.fetch, owner.key, a)),
  };
  return { tenant: t.body.id as string, ids, api: key.api };
}

const outcome = (status: number, body: any): Expected | number =>
  status === 401 || status === 403 ? { status, code: body?.error?.code } : status >= 500 ? status : "pass";

describe("role × scope × route", () => {
  const columns = ROLES.flatMap((role) => SCOPES.map((scope) => [role, scope] as const));

  it.each(columns)("a %s key, %s, gets what the table says on every route", async (role, scope) => {
    const f = await fixture(role, scope);
    const seen: Record<string, Expected | number> = {};
    const want: Record<string, Expected | number> = {};
    for (const route of ROUTES) {
      const r = await f.api(route.method, route.path(f.ids), route.body?.(f.ids));
      seen[label(route)] = outcome(r.status, r.body);
      want[label(route)] = expected(route, role, scope);
    }
    for (const route of ADMIN_ROUTES) {
      const name = `${route.method} ${route.path("{tenant}", "{key}")}`;
      const r = await f.api(route.method, route.path(f.tenant, f.ids.key), route.body?.());
      seen[name] = outcome(r.status, r.body);
      want[name] = OPERATOR_ONLY;
    }
    expect(seen).toEqual(want);
  });
});
