/**
 * Issue 17: the boundary inside a tenant. A key never hands out more than it has (role, scope,
 * rate limit), tenants hold a bounded number of keys, keys scoped to assistants keep no
 * tenant-wide powers and read only their assistants' threads, listings are computed from what the
 * key may see, and tool-endpoint header values are never shown again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../support/e2e";
import { type InProcess, startInProcess } from "../support/in-process";
import { keys, THREAD_FIELDS } from "../../src/store/keys";
import { registerSecrets } from "../support/log-capture/registry.ts";

let app: InProcess;
beforeAll(async () => {
  app = await startInProcess({ vars: { MAX_KEYS_PER_TENANT: "6" } });
});
afterAll(async () => app?.close());

type Key = { id: string; key: string; api: Api; body: any };

async function tenant() {
  const t = await app.admin("POST", "/v1/admin/tenants", {});
  expect(t.status).toBe(201);
  registerSecrets({ [`tenant ${t.body.id}`]: t.body.webhook_secret });
  const issue = async (body: Record<string, unknown>): Promise<Key> => {
    const k = await app.admin("POST", `/v1/admin/tenants/${t.body.id}/keys`, body);
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    registerSecrets({ [`key ${k.body.id}`]: k.body.key });
    return { id: k.body.id, key: k.body.key, api: app.client(k.body.key), body: k.body };
  };
  const admin = await issue({ role: "admin" });
  const assistant = async (name: string, extra: Record<string, unknown> = {}) => {
    const a = await admin.api("POST", "/v1/assistants", { model: "gpt-sim", name, ...extra });
    expect(a.status).toBe(200);
    return a.body.id as string;
  };
  return { id: t.body.id as string, admin, issue, assistant };
}

/** A key issued by a tenant key (its answer, with its secret registered for the log check). */
async function issueAs(as: Api, body: Record<string, unknown>) {
  const r = await as("POST", "/v1/keys", body);
  if (r.status === 201) registerSecrets({ [`key ${r.body.id}`]: r.body.key });
  return r;
}

const refusal = (r: { status: number; body: any }) => ({
  status: r.status,
  code: r.body?.error?.code ?? null,
  param: r.body?.error?.param ?? null,
});

const message = (assistant_id: string, extra: Record<string, unknown> = {}) => ({
  assistant_id,
  input: "hi",
  callback_url: `${app.inboxUrl}/least-privilege`,
  ...extra,
});

describe("issuing keys", () => {
  it("refuses a looser rate limit than the issuer's own (0 is unlimited), naming the field", async () => {
    const t = await tenant();
    const limited = await t.issue({ role: "admin", rate_limit_per_min: 50 });
    for (const rate of [0, 51, 1_000_000]) {
      const r = await issueAs(limited.api, { role: "member", rate_limit_per_min: rate });
      expect(refusal(r)).toEqual({
        status: 403,
        code: "rate_limit_not_allowed",
        param: "rate_limit_per_min",
      });
    }
    const same = await issueAs(limited.api, { role: "member", rate_limit_per_min: 50 });
    expect([same.status, same.body.rate_limit_per_min]).toEqual([201, 50]);
  });

  it("gives a key created without a limit its issuer's limit", async () => {
    const t = await tenant();
    const limited = await t.issue({ role: "admin", rate_limit_per_min: 40 });
    const inherited = await issueAs(limited.api, { role: "editor" });
    expect([inherited.status, inherited.body.rate_limit_per_min]).toEqual([201, 40]);
    // An unlimited issuer may hand out any limit, 0 included.
    const open = await t.issue({ role: "admin", rate_limit_per_min: 0 });
    const unlimited = await issueAs(open.api, { role: "member", rate_limit_per_min: 0 });
    expect([unlimited.status, unlimited.body.rate_limit_per_min]).toEqual([201, 0]);
  });

  it("caps the live keys of a tenant (MAX_KEYS_PER_TENANT); a revoked key frees its place", async () => {
    const t = await tenant(); // holds one admin key
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await issueAs(t.admin.api, { role: "member" }));
    expect(made.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const over = await issueAs(t.admin.api, { role: "member" });
    expect(refusal(over)).toEqual({ status: 409, code: "key_limit_reached", param: null });
    const viaOperator = await app.admin("POST", `/v1/admin/tenants/${t.id}/keys`, { role: "member" });
    expect(refusal(viaOperator)).toEqual({ status: 409, code: "key_limit_reached", param: null });
    expect((await t.admin.api("DELETE", `/v1/keys/${made[0]?.body.id}`)).status).toBe(200);
    expect((await issueAs(t.admin.api, { role: "member" })).status).toBe(201);
  });
});

describe("keys scoped to assistants", () => {
  it("list, issue and revoke only keys within their scope", async () => {
    const t = await tenant();
    const [a, b] = [await t.assistant("a"), await t.assistant("b")];
    const scopedAdmin = await t.issue({ role: "admin", assistant_ids: [a] });
    const sibling = await t.issue({ role: "member", assistant_ids: [a] });
    const other = await t.issue({ role: "member", assistant_ids: [b] });
    const wide = await t.issue({ role: "member", assistant_ids: [a, b] });

    const listed = await scopedAdmin.api("GET", "/v1/keys");
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: { id: string }) => k.id).sort()).toEqual(
      [scopedAdmin.id, sibling.id].sort(),
    );

    for (const victim of [t.admin, other, wide]) {
      const r = await scopedAdmin.api("DELETE", `/v1/keys/${victim.id}`);
      expect(refusal(r)).toEqual({ status: 403, code: "key_not_allowed", param: "key_id" });
    }
    expect((await t.admin.api("GET", "/v1/assistants")).status).toBe(200); // still alive
    expect((await scopedAdmin.api("DELETE", `/v1/keys/${sibling.id}`)).status).toBe(200);
  });

  it("cannot rotate the tenant's webhook secret or read tenant-wide usage", async () => {
    const t = await tenant();
    const a = await t.assistant("a");
    const scopedAdmin = await t.issue({ role: "admin", assistant_ids: [a] });
    const rotate = await scopedAdmin.api("POST", "/v1/webhook_secrets/rotate", { window_s: 0 });
    expect(refusal(rotate)).toEqual({ status: 403, code: "scoped_key_not_allowed", param: null });
    expect(JSON.stringify(rotate.body)).not.toContain("whsec_");
    const usage = await scopedAdmin.api("GET", "/v1/usage");
    expect(refusal(usage)).toEqual({ status: 403, code: "scoped_key_not_allowed", param: null });
    // The unscoped admin still can.
    expect((await t.admin.api("GET", "/v1/usage")).status).toBe(200);
  });

  it("read only threads that have runs of their assistants or were created by keys of them", async () => {
    const t = await tenant();
    const [a, b] = [await t.assistant("a"), await t.assistant("b")];
    const keyA = await t.issue({ role: "member", assistant_ids: [a] });
    const keyA2 = await t.issue({ role: "member", assistant_ids: [a] });
    const conversationB = `conv:b:${Date.now()}`;
    const runB = await t.admin.api("POST", "/v1/messages", message(b, { conversation: conversationB }));
    const runA = await t.admin.api("POST", "/v1/messages", message(a));
    expect([runA.status, runB.status]).toEqual([202, 202]);
    const threadB = runB.body.thread_id;
    const unscopedThread = (await t.admin.api("POST", "/v1/threads", {})).body.id;
    const ownThread = await keyA.api("POST", "/v1/threads", {
      messages: [{ role: "user", content: "mine" }],
    });
    expect(ownThread.status).toBe(200);

    // Visible: a thread with a run of A; a thread a key scoped to A created (to every key of A).
    expect((await keyA.api("GET", `/v1/threads/${runA.body.thread_id}`)).status).toBe(200);
    expect((await keyA.api("GET", `/v1/threads/${runA.body.thread_id}/messages`)).status).toBe(200);
    expect((await keyA2.api("GET", `/v1/threads/${ownThread.body.id}`)).status).toBe(200);

    const hidden: [string, string, unknown?][] = [
      ["GET", `/v1/threads/${threadB}`],
      ["POST", `/v1/threads/${threadB}`, { metadata: { k: "v" } }],
      ["GET", `/v1/threads/${threadB}/messages`],
      ["POST", `/v1/threads/${threadB}/messages`, { role: "user", content: "sneaky" }],
      ["GET", `/v1/threads/${threadB}/runs`],
      ["POST", `/v1/threads/${threadB}/runs`, { assistant_id: a }],
      ["DELETE", `/v1/threads/${threadB}`],
      ["GET", `/v1/conversations/${conversationB}`],
      ["DELETE", `/v1/conversations/${conversationB}`],
      ["POST", "/v1/messages", message(a, { conversation: conversationB })],
      ["POST", "/v1/messages", message(a, { thread_id: threadB })],
      ["GET", `/v1/threads/${unscopedThread}`],
    ];
    for (const [method, path, body] of hidden) {
      const r = await keyA.api(method, path, body);
      expect({ method, path, ...refusal(r) }).toEqual({
        method,
        path,
        status: 403,
        code: "thread_not_allowed",
        param: "thread_id",
      });
    }
    // Nothing changed: B's thread still maps, has one run and its one message.
    expect((await t.admin.api("GET", `/v1/conversations/${conversationB}`)).body.id).toBe(threadB);
    expect((await t.admin.api("GET", `/v1/threads/${threadB}/messages`)).body.data).toHaveLength(1);
  });

  it("mark a thread from before the marks by its runs' assistants, the first time a scoped key asks", async () => {
    const t = await tenant();
    const [a, b] = [await t.assistant("a"), await t.assistant("b")];
    const run = await t.admin.api("POST", "/v1/messages", message(a));
    const thread = run.body.thread_id;
    // As a thread written before issue 17: no marks.
    const { url, token } = app.stack.ready.redis;
    const redis = (cmd: unknown[]) =>
      fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(cmd),
      });
    await redis(["HDEL", keys.thread(t.id, thread), THREAD_FIELDS.assistant(a)]);
    const keyB = await t.issue({ role: "member", assistant_ids: [b] });
    const keyA = await t.issue({ role: "member", assistant_ids: [a] });
    expect(refusal(await keyB.api("GET", `/v1/threads/${thread}`))).toMatchObject({ status: 403 });
    expect((await keyA.api("GET", `/v1/threads/${thread}`)).status).toBe(200);
    expect((await keyA.api("GET", `/v1/threads/${thread}/messages`)).status).toBe(200);
  });
});

describe("listings", () => {
  it("take first_id, last_id and has_more from the runs the key may see, and page through all of them", async () => {
    const t = await tenant();
    const [x, y] = [await t.assistant("x"), await t.assistant("y")];
    const conversation = `conv:list:${Date.now()}`;
    const order = [y, x, y, y, x, y, y, y, x, y];
    const runs: { id: string; assistant: string }[] = [];
    for (const assistant of order) {
      const r = await t.admin.api("POST", "/v1/messages", message(assistant, { conversation }));
      expect(r.status).toBe(202);
      runs.push({ id: r.body.id, assistant });
    }
    const thread = (await t.admin.api("GET", `/v1/conversations/${conversation}`)).body.id;
    const keyX = await t.issue({ role: "member", assistant_ids: [x] });
    const mine = runs.filter((r) => r.assistant === x).map((r) => r.id);
    const theirs = runs.filter((r) => r.assistant === y).map((r) => r.id);

    const all = await keyX.api("GET", `/v1/threads/${thread}/runs?order=asc`);
    expect(all.body).toMatchObject({ first_id: mine[0], last_id: mine.at(-1), has_more: false });
    expect(all.body.data.map((r: { id: string }) => r.id)).toEqual(mine);
    for (const id of theirs) expect(JSON.stringify(all.body)).not.toContain(id);

    for (const order of ["asc", "desc"] as const) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const q: string = `?order=${order}&limit=1${after ? `&after=${after}` : ""}`;
        const r = await keyX.api("GET", `/v1/threads/${thread}/runs${q}`);
        expect(r.body.data).toHaveLength(1); // never an empty page that says there is more
        seen.push(r.body.data[0].id);
        for (const id of theirs) expect(JSON.stringify(r.body)).not.toContain(id);
        if (!r.body.has_more) break;
        after = r.body.last_id;
      }
      expect(seen).toEqual(order === "asc" ? mine : [...mine].reverse());
      // `before` pages back from the last one to the first.
      const back = await keyX.api(
        "GET",
        `/v1/threads/${thread}/runs?order=${order}&limit=1&before=${seen.at(-1)}`,
      );
      expect(back.body).toMatchObject({ data: [{ id: seen.at(-2) }], has_more: true });
    }
  });

  it("page a scoped key through its assistants, wherever they sit in the tenant's list", async () => {
    const t = await tenant();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await t.assistant(`n${i}`));
    const scope = [ids[0], ids[3]] as string[];
    const scoped = await t.issue({ role: "member", assistant_ids: scope });
    const first = await scoped.api("GET", "/v1/assistants?limit=2");
    expect(first.body).toMatchObject({ has_more: false, first_id: ids[3], last_id: ids[0] });
    expect(first.body.data.map((a: { id: string }) => a.id)).toEqual([ids[3], ids[0]]);
    const page1 = await scoped.api("GET", "/v1/assistants?limit=1");
    expect(page1.body).toMatchObject({ data: [{ id: ids[3] }], has_more: true, last_id: ids[3] });
    const page2 = await scoped.api("GET", `/v1/assistants?limit=1&after=${ids[3]}`);
    expect(page2.body).toMatchObject({ data: [{ id: ids[0] }], has_more: false });
    // A cursor the key may not see gives nothing (not the tenant's list from that point).
    const foreign = await scoped.api("GET", `/v1/assistants?after=${ids[5]}`);
    expect(foreign.body).toMatchObject({ data: [], has_more: false, first_id: null, last_id: null });
  });
});

describe("tool endpoint headers", () => {
  it("are never shown again: names with masked values on create, read, list and modify", async () => {
    const t = await tenant();
    const secret = `Bearer tool-secret-${Date.now()}`;
    registerSecrets({ toolHeader: secret });
    const tools = [
      {
        type: "function",
        function: { name: "lookup", parameters: { type: "object", properties: {} } },
        endpoint: {
          url: `${app.inboxUrl}/tools/lookup`,
          headers: { authorization: secret, "x-team": "blue" },
        },
      },
    ];
    const created = await t.admin.api("POST", "/v1/assistants", { model: "gpt-sim", tools });
    expect(created.status).toBe(200);
    const id = created.body.id;
    const member = await t.issue({ role: "member" });
    const scoped = await t.issue({ role: "member", assistant_ids: [id] });
    const answers = [
      created,
      await member.api("GET", `/v1/assistants/${id}`),
      await member.api("GET", "/v1/assistants"),
      await scoped.api("GET", `/v1/assistants/${id}`),
      await t.admin.api("POST", `/v1/assistants/${id}`, { name: "renamed" }),
    ];
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(JSON.stringify(r.body)).not.toContain(secret);
      expect(JSON.stringify(r.body)).not.toContain("blue");
    }
    const shown = answers[1]?.body.tools[0].endpoint;
    expect(shown).toMatchObject({ headers: { authorization: "********", "x-team": "********" } });
  });
});
