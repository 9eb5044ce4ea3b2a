/**
 * Every tenant route of the public API, as data: the security tests (cross-tenant 404, roles, fuzz)
 * are driven by this table. A new route group adds its rows here and is covered by all three.
 */
import type { Role } from "../../src/security/roles";

/** Ids of one tenant's objects that routes can name. */
export interface TenantIds {
  assistant: string;
  thread: string;
  run: string;
  conversation: string;
  /** A message on `thread`. */
  message: string;
  key: string;
  callbackUrl: string;
}

export interface RouteCase {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: (ids: TenantIds) => string;
  /** A valid body (for the role test), built from the ids. */
  body?: (ids: TenantIds) => unknown;
  /** The lowest role that may call it. */
  role: Role;
  /** Names an object by id, so another tenant's id must answer 404. */
  namesObject: boolean;
}

export const label = (r: RouteCase) => `${r.method} ${r.path(PLACEHOLDER_IDS)}`;

const PLACEHOLDER_IDS: TenantIds = {
  assistant: "{assistant}",
  thread: "{thread}",
  run: "{run}",
  conversation: "{conversation}",
  message: "{message}",
  key: "{key}",
  callbackUrl: "{callback}",
};

const message = (ids: TenantIds, extra: Record<string, unknown> = {}) => ({
  assistant_id: ids.assistant,
  input: "hello",
  callback_url: ids.callbackUrl,
  ...extra,
});

export const ROUTES: RouteCase[] = [
  {
    method: "POST",
    path: () => "/v1/assistants",
    body: () => ({ model: "gpt-sim" }),
    role: "editor",
    namesObject: false,
  },
  { method: "GET", path: () => "/v1/assistants", role: "member", namesObject: false },
  { method: "GET", path: (i) => `/v1/assistants/${i.assistant}`, role: "member", namesObject: true },
  {
    method: "POST",
    path: (i) => `/v1/assistants/${i.assistant}`,
    body: () => ({ name: "renamed" }),
    role: "editor",
    namesObject: true,
  },
  {
    method: "PATCH",
    path: (i) => `/v1/assistants/${i.assistant}`,
    body: () => ({ name: "renamed" }),
    role: "editor",
    namesObject: true,
  },
  { method: "POST", path: () => "/v1/messages", body: (i) => message(i), role: "member", namesObject: true },
  { method: "GET", path: (i) => `/v1/runs/${i.run}`, role: "member", namesObject: true },
  { method: "GET", path: (i) => `/v1/runs/${i.run}/steps`, role: "member", namesObject: true },
  {
    method: "POST",
    path: (i) => `/v1/runs/${i.run}/submit_tool_outputs`,
    body: () => ({ tool_outputs: [{ tool_call_id: "call_x", output: "42" }] }),
    role: "member",
    namesObject: true,
  },
  { method: "POST", path: (i) => `/v1/runs/${i.run}/redeliver`, role: "member", namesObject: true },
  { method: "POST", path: (i) => `/v1/runs/${i.run}/cancel`, role: "member", namesObject: true },
  { method: "GET", path: (i) => `/v1/threads/${i.thread}`, role: "member", namesObject: true },
  // The Assistants v2 API.
  {
    method: "POST",
    path: () => "/v1/threads",
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    namesObject: false,
  },
  {
    method: "POST",
    path: () => "/v1/threads/runs",
    body: (i) => ({ assistant_id: i.assistant, thread: { messages: [{ role: "user", content: "hi" }] } }),
    role: "member",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}`,
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    namesObject: true,
  },
  { method: "GET", path: (i) => `/v1/threads/${i.thread}/messages`, role: "member", namesObject: true },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/messages`,
    body: () => ({ role: "user", content: "more" }),
    role: "member",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/messages/${i.message}`,
    role: "member",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/messages/${i.message}`,
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    namesObject: true,
  },
  { method: "GET", path: (i) => `/v1/threads/${i.thread}/runs`, role: "member", namesObject: true },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs`,
    body: (i) => ({ assistant_id: i.assistant }),
    role: "member",
    namesObject: true,
  },
  { method: "GET", path: (i) => `/v1/threads/${i.thread}/runs/${i.run}`, role: "member", namesObject: true },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}`,
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/submit_tool_outputs`,
    body: () => ({ tool_outputs: [{ tool_call_id: "call_x", output: "42" }] }),
    role: "member",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/cancel`,
    role: "member",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/steps`,
    role: "member",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/steps/step_x`,
    role: "member",
    namesObject: true,
  },
  { method: "GET", path: (i) => `/v1/conversations/${i.conversation}`, role: "member", namesObject: true },
  { method: "GET", path: () => "/v1/keys", role: "admin", namesObject: false },
  {
    method: "POST",
    path: () => "/v1/keys",
    body: () => ({ role: "member" }),
    role: "admin",
    namesObject: false,
  },
  { method: "GET", path: () => "/v1/usage", role: "admin", namesObject: false },
  {
    method: "POST",
    path: () => "/v1/webhook_secrets/rotate",
    body: () => ({ window_s: 3600 }),
    role: "admin",
    namesObject: false,
  },
  // Destructive ones last: the role test runs the table in order.
  { method: "DELETE", path: (i) => `/v1/conversations/${i.conversation}`, role: "member", namesObject: true },
  {
    method: "DELETE",
    path: (i) => `/v1/threads/${i.thread}/messages/${i.message}`,
    role: "member",
    namesObject: true,
  },
  { method: "DELETE", path: (i) => `/v1/threads/${i.thread}`, role: "member", namesObject: true },
  { method: "DELETE", path: (i) => `/v1/keys/${i.key}`, role: "admin", namesObject: true },
  { method: "DELETE", path: (i) => `/v1/assistants/${i.assistant}`, role: "editor", namesObject: true },
  // Appended last: the fuzz seeds each route by its index, so earlier rows keep theirs.
  { method: "GET", path: () => "/v1/models", role: "member", namesObject: false },
  // Any name is a model when the deployment does not restrict them (ALLOWED_MODELS unset).
  { method: "GET", path: () => "/v1/models/{model}", role: "member", namesObject: false },
];

/** Body variants that name another tenant's object inside the body rather than the path. */
export const BODY_REFERENCES: { name: string; body: (theirs: TenantIds, mine: TenantIds) => unknown }[] = [
  { name: "their assistant", body: (theirs, mine) => message(mine, { assistant_id: theirs.assistant }) },
  { name: "their thread", body: (theirs, mine) => message(mine, { thread_id: theirs.thread }) },
];

/** The operator's routes; `tenant` and `key` name objects of a tenant made for the test. */
export const ADMIN_ROUTES: {
  method: RouteCase["method"];
  path: (tenant: string, key: string) => string;
  body?: () => unknown;
}[] = [
  {
    method: "POST",
    path: () => "/v1/admin/tenants",
    body: () => ({ name: "fuzzed", limits: { monthly_runs: 1 } }),
  },
  { method: "GET", path: () => "/v1/admin/tenants" },
  { method: "GET", path: (t) => `/v1/admin/tenants/${t}` },
  {
    method: "PATCH",
    path: (t) => `/v1/admin/tenants/${t}`,
    body: () => ({ name: "renamed", limits: { max_active_runs: 5 } }),
  },
  { method: "POST", path: (t) => `/v1/admin/tenants/${t}`, body: () => ({ name: "renamed again" }) },
  { method: "POST", path: (t) => `/v1/admin/tenants/${t}/keys`, body: () => ({ role: "member", name: "k" }) },
  { method: "GET", path: (t) => `/v1/admin/tenants/${t}/keys` },
  { method: "GET", path: (t) => `/v1/admin/tenants/${t}/usage` },
  {
    method: "POST",
    path: (t) => `/v1/admin/tenants/${t}/webhook_secrets/rotate`,
    body: () => ({ window_s: 60 }),
  },
  { method: "DELETE", path: (t, k) => `/v1/admin/tenants/${t}/keys/${k}` },
];
