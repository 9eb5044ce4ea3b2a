/**
 * Every tenant route of the public API, as data: the security tests (cross-tenant 404, roles, fuzz)
 * are driven by this table. A new route group adds its rows here and is covered by all three.
 */
import type { Role } from "../../src/security/roles";
import { slackIntegrationBody } from "./files.ts";

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
  /** One of the tenant's files, in `vectorStore`. */
  file: string;
  vectorStore: string;
  /** A file batch of `vectorStore`. */
  batch: string;
  /** One of the tenant's schedules. */
  schedule: string;
  /** One of the tenant's integrations (a Slack bot). */
  integration: string;
}

export interface RouteCase {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: (ids: TenantIds) => string;
  /** A valid body (for the role test), built from the ids. */
  body?: (ids: TenantIds) => unknown;
  /**
   * A valid body that sets `canary` in every secret-bearing field the route takes (tool endpoint
   * headers, callback headers): test/e2e/secrets.test.ts checks it never comes back.
   */
  secretBody?: (ids: TenantIds, canary: string) => unknown;
  /** The lowest role that may call it (a lower one gets 403 insufficient_role). */
  role: Role;
  /**
   * What a key scoped to assistants gets (with a role high enough): `any` — the same as an
   * unscoped key, its answer holding only what the key may see; `tenant-wide` — 403
   * scoped_key_not_allowed; or the 403 code it gets when the object the route names (or, for
   * POST /v1/keys, the scope it asks for) is outside its scope; within it, the route serves it.
   */
  scoped: "any" | "tenant-wide" | "assistant_not_allowed" | "thread_not_allowed" | "key_not_allowed";
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
  file: "{file}",
  vectorStore: "{vector_store}",
  batch: "{batch}",
  schedule: "{schedule}",
  integration: "{integration}",
};

const message = (ids: TenantIds, extra: Record<string, unknown> = {}) => ({
  assistant_id: ids.assistant,
  input: "hello",
  callback_url: ids.callbackUrl,
  ...extra,
});

/** A function tool whose endpoint carries the canary in a header (the endpoint is `{callback}/tool`). */
export const canaryTool = (ids: TenantIds, canary: string) => ({
  type: "function",
  function: { name: "canary_tool", parameters: { type: "object", properties: {} } },
  endpoint: {
    url: `${ids.callbackUrl}/tool`,
    headers: { "x-canary": canary, authorization: `Bearer ${canary}` },
  },
});
const canaryCallback = (ids: TenantIds, canary: string) => ({
  callback_url: ids.callbackUrl,
  callback_headers: { "x-canary": canary },
});

export const ROUTES: RouteCase[] = [
  {
    method: "POST",
    path: () => "/v1/assistants",
    body: () => ({ model: "gpt-sim" }),
    secretBody: (i, canary) => ({ model: "gpt-sim", tools: [canaryTool(i, canary)] }),
    role: "editor",
    scoped: "any",
    namesObject: false,
  },
  { method: "GET", path: () => "/v1/assistants", role: "member", scoped: "any", namesObject: false },
  {
    method: "GET",
    path: (i) => `/v1/assistants/${i.assistant}`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/assistants/${i.assistant}`,
    body: () => ({ name: "renamed" }),
    secretBody: (i, canary) => ({ tools: [canaryTool(i, canary)] }),
    role: "editor",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "PATCH",
    path: (i) => `/v1/assistants/${i.assistant}`,
    body: () => ({ name: "renamed" }),
    secretBody: (i, canary) => ({ tools: [canaryTool(i, canary)] }),
    role: "editor",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: () => "/v1/messages",
    body: (i) => message(i),
    secretBody: (i, canary) => ({
      ...message(i, {
        input: `go #sim ${JSON.stringify({ tool_calls: [{ name: "canary_tool", arguments: {} }] })}`,
      }),
      tools: [canaryTool(i, canary)],
      ...canaryCallback(i, canary),
    }),
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/runs/${i.run}`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/runs/${i.run}/steps`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/runs/${i.run}/submit_tool_outputs`,
    body: () => ({ tool_outputs: [{ tool_call_id: "call_x", output: "42" }] }),
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/runs/${i.run}/redeliver`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/runs/${i.run}/cancel`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  // The Assistants v2 API.
  {
    method: "POST",
    path: () => "/v1/threads",
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    scoped: "any",
    namesObject: false,
  },
  {
    method: "POST",
    path: () => "/v1/threads/runs",
    body: (i) => ({ assistant_id: i.assistant, thread: { messages: [{ role: "user", content: "hi" }] } }),
    secretBody: (i, canary) => ({
      assistant_id: i.assistant,
      thread: { messages: [{ role: "user", content: "hi" }] },
      tools: [canaryTool(i, canary)],
      stream: true,
      ...canaryCallback(i, canary),
    }),
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}`,
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/messages`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/messages`,
    body: () => ({ role: "user", content: "more" }),
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/messages/${i.message}`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/messages/${i.message}`,
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/runs`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs`,
    body: (i) => ({ assistant_id: i.assistant }),
    secretBody: (i, canary) => ({
      assistant_id: i.assistant,
      additional_messages: [{ role: "user", content: "again" }],
      tools: [canaryTool(i, canary)],
      stream: true,
      ...canaryCallback(i, canary),
    }),
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}`,
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/submit_tool_outputs`,
    body: () => ({ tool_outputs: [{ tool_call_id: "call_x", output: "42" }] }),
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/cancel`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/steps`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/threads/${i.thread}/runs/${i.run}/steps/step_x`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/conversations/${i.conversation}`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  { method: "GET", path: () => "/v1/keys", role: "admin", scoped: "any", namesObject: false },
  {
    method: "POST",
    path: () => "/v1/keys",
    body: (i) => ({ role: "member", assistant_ids: [i.assistant] }),
    role: "admin",
    scoped: "assistant_not_allowed",
    namesObject: false,
  },
  { method: "GET", path: () => "/v1/usage", role: "admin", scoped: "tenant-wide", namesObject: false },
  {
    method: "POST",
    path: () => "/v1/webhook_secrets/rotate",
    body: () => ({ window_s: 3600 }),
    role: "admin",
    scoped: "tenant-wide",
    namesObject: false,
  },
  // Files and vector stores.
  {
    method: "POST",
    path: () => "/v1/files",
    body: () => ({ purpose: "assistants" }),
    role: "member",
    scoped: "any",
    namesObject: false,
  },
  { method: "GET", path: () => "/v1/files", role: "member", scoped: "any", namesObject: false },
  { method: "GET", path: (i) => `/v1/files/${i.file}`, role: "member", scoped: "any", namesObject: true },
  {
    method: "GET",
    path: (i) => `/v1/files/${i.file}/content`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "POST",
    path: () => "/v1/vector_stores",
    body: () => ({ name: "kb" }),
    role: "member",
    scoped: "any",
    namesObject: false,
  },
  { method: "GET", path: () => "/v1/vector_stores", role: "member", scoped: "any", namesObject: false },
  {
    method: "GET",
    path: (i) => `/v1/vector_stores/${i.vectorStore}`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/vector_stores/${i.vectorStore}`,
    body: () => ({ metadata: { k: "v" } }),
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/files`,
    body: (i) => ({ file_id: i.file }),
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/files`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/files/${i.file}`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/file_batches`,
    body: (i) => ({ file_ids: [i.file] }),
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/file_batches/${i.batch}`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/file_batches/${i.batch}/files`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "POST",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/file_batches/${i.batch}/cancel`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  // Assistants v1: an assistant's files.
  {
    method: "POST",
    path: (i) => `/v1/assistants/${i.assistant}/files`,
    body: (i) => ({ file_id: i.file }),
    role: "editor",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/assistants/${i.assistant}/files`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/assistants/${i.assistant}/files/${i.file}`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/assistants/${i.assistant}/files/${i.file}`,
    role: "editor",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  // Destructive ones last: the role test runs the table in order.
  {
    method: "DELETE",
    path: (i) => `/v1/vector_stores/${i.vectorStore}/files/${i.file}`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/vector_stores/${i.vectorStore}`,
    role: "member",
    scoped: "any",
    namesObject: true,
  },
  { method: "DELETE", path: (i) => `/v1/files/${i.file}`, role: "member", scoped: "any", namesObject: true },
  {
    method: "DELETE",
    path: (i) => `/v1/conversations/${i.conversation}`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/threads/${i.thread}/messages/${i.message}`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/threads/${i.thread}`,
    role: "member",
    scoped: "thread_not_allowed",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/keys/${i.key}`,
    role: "admin",
    scoped: "key_not_allowed",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/assistants/${i.assistant}`,
    role: "editor",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  // Appended last: the fuzz seeds each route by its index, so earlier rows keep theirs.
  { method: "GET", path: () => "/v1/models", role: "member", scoped: "any", namesObject: false },
  // Any name is a model when the deployment does not restrict them (ALLOWED_MODELS unset).
  { method: "GET", path: () => "/v1/models/{model}", role: "member", scoped: "any", namesObject: false },
  {
    method: "POST",
    path: () => "/v1/schedules",
    body: (i) => ({
      cron: "0 0 1 1 *",
      enabled: false,
      assistant_id: i.assistant,
      input: "x",
      callback_url: i.callbackUrl,
    }),
    role: "editor",
    scoped: "tenant-wide",
    namesObject: false,
  },
  { method: "GET", path: () => "/v1/schedules", role: "member", scoped: "tenant-wide", namesObject: false },
  {
    method: "GET",
    path: (i) => `/v1/schedules/${i.schedule}`,
    role: "member",
    scoped: "tenant-wide",
    namesObject: true,
  },
  {
    method: "PATCH",
    path: (i) => `/v1/schedules/${i.schedule}`,
    body: () => ({ input: "changed" }),
    role: "editor",
    scoped: "tenant-wide",
    namesObject: true,
  },
  {
    method: "GET",
    path: (i) => `/v1/runs/${i.run}/events`,
    role: "member",
    scoped: "assistant_not_allowed",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/schedules/${i.schedule}`,
    role: "editor",
    scoped: "tenant-wide",
    namesObject: true,
  },
  {
    method: "POST",
    path: () => "/v1/integrations",
    body: (i) => slackIntegrationBody(i.assistant),
    secretBody: (i, canary) => slackIntegrationBody(i.assistant, canary),
    role: "editor",
    scoped: "tenant-wide",
    namesObject: false,
  },
  {
    method: "GET",
    path: () => "/v1/integrations",
    role: "member",
    scoped: "tenant-wide",
    namesObject: false,
  },
  {
    method: "GET",
    path: (i) => `/v1/integrations/${i.integration}`,
    role: "member",
    scoped: "tenant-wide",
    namesObject: true,
  },
  {
    method: "PATCH",
    path: (i) => `/v1/integrations/${i.integration}`,
    body: () => ({ metadata: { changed: "yes" } }),
    secretBody: (_i, canary) => ({ credentials: { signing_secret: `${canary}-2` } }),
    role: "editor",
    scoped: "tenant-wide",
    namesObject: true,
  },
  {
    method: "DELETE",
    path: (i) => `/v1/integrations/${i.integration}`,
    role: "editor",
    scoped: "tenant-wide",
    namesObject: true,
  },
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
