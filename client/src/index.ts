/**
 * A typed client for threadhook: the webhook API, assistants, a tenant's account and the
 * operator API, with types generated from the OpenAPI description (./types.ts), errors as
 * `ThreadhookError` (`status`, `type`, `code`, `param`), an `Idempotency-Key` on every message
 * sent (kept across retries), and retries on 429/503 that honour `Retry-After`. Only `fetch`.
 */
import type * as T from "./types.js";

export type * from "./types.js";
export { signWebhook, verifyWebhook, WebhookVerificationError } from "./webhook.js";
export type { HeaderSource, VerifyOptions, WebhookFailure } from "./webhook.js";

export interface ClientOptions {
  /** A tenant API key, or the operator key for the `admin*` methods. */
  apiKey: string;
  /** The deployment, e.g. `https://threadhook.example.workers.dev`. */
  baseUrl: string;
  /** Retries after a 429 or 503 (default 2). */
  maxRetries?: number;
  /** The longest wait between retries, in ms (default 30 000). */
  maxRetryDelayMs?: number;
  fetch?: typeof fetch;
}

type ErrorType = T.ErrorBody["error"]["type"];

/** A 4xx/5xx answer: threadhook's `{ error: { type, code, message, param } }`. */
export class ThreadhookError extends Error {
  readonly status: number;
  readonly type: ErrorType | "unknown";
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Headers;
  constructor(status: number, body: unknown, headers: Headers) {
    const err = (body as Partial<T.ErrorBody> | null)?.error;
    super(err?.message ?? `threadhook answered ${status}`);
    this.name = "ThreadhookError";
    this.status = status;
    this.type = err?.type ?? "unknown";
    this.code = err?.code ?? null;
    this.param = err?.param ?? null;
    this.headers = headers;
  }
}

export interface ListQuery {
  limit?: number;
  order?: "asc" | "desc";
  after?: string;
  before?: string;
}

export interface RequestOptions {
  /** Sent as `Idempotency-Key` (sendMessage makes one when absent, so a retry cannot run twice). */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

type Query = Record<string, string | number | undefined>;
const seg = (s: string) => encodeURIComponent(s);

export class Threadhook {
  readonly #opts: Required<Omit<ClientOptions, "fetch">> & { fetch: typeof fetch };

  constructor(options: ClientOptions) {
    this.#opts = {
      maxRetries: 2,
      maxRetryDelayMs: 30_000,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      fetch: options.fetch ?? ((...args) => fetch(...args)),
    };
  }

  /** One request; the JSON answer, or a `ThreadhookError`. Retries 429/503 per `Retry-After`. */
  async request<R>(
    method: string,
    path: string,
    body?: unknown,
    query?: Query,
    opts: RequestOptions = {},
  ): Promise<R> {
    const url = new URL(this.#opts.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${this.#opts.apiKey}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (opts.idempotencyKey) headers["idempotency-key"] = opts.idempotencyKey;
    for (let attempt = 0; ; attempt++) {
      const res = await this.#opts.fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      if (res.ok) return json as R;
      if ((res.status === 429 || res.status === 503) && attempt < this.#opts.maxRetries) {
        await sleep(this.#retryDelay(res.headers.get("retry-after"), attempt), opts.signal);
        continue;
      }
      throw new ThreadhookError(res.status, json, res.headers);
    }
  }

  #retryDelay(retryAfter: string | null, attempt: number): number {
    const seconds = retryAfter !== null && /^\d+(\.\d+)?$/.test(retryAfter) ? Number(retryAfter) : null;
    const ms = seconds !== null ? seconds * 1000 : 500 * 2 ** attempt;
    return Math.min(ms, this.#opts.maxRetryDelayMs);
  }

  // The webhook API.
  /** Send a message: `202` with the queued run; the answer arrives as a signed callback. */
  sendMessage(body: T.SendMessageRequest, opts: RequestOptions = {}) {
    const idempotencyKey = opts.idempotencyKey ?? crypto.randomUUID();
    return this.request<T.AcceptedRun>("POST", "/v1/messages", body, undefined, { ...opts, idempotencyKey });
  }
  getRun(runId: string) {
    return this.request<T.Run>("GET", `/v1/runs/${seg(runId)}`);
  }
  cancelRun(runId: string) {
    return this.request<T.Run>("POST", `/v1/runs/${seg(runId)}/cancel`, {});
  }
  submitToolOutputs(runId: string, toolOutputs: T.SubmitToolOutputsRequest["tool_outputs"]) {
    return this.request<T.Run>("POST", `/v1/runs/${seg(runId)}/submit_tool_outputs`, {
      tool_outputs: toolOutputs,
    });
  }
  listRunSteps(runId: string, query: ListQuery = {}) {
    return this.request<T.ListRunStepsResponse>("GET", `/v1/runs/${seg(runId)}/steps`, undefined, {
      ...query,
    });
  }
  /**
   * Follow a run's events (`GET /v1/runs/{id}/events`) until its terminal event: the callbacks'
   * event objects, each once, in order. When a stream ends before the run (the server's window) or
   * breaks, it reconnects with `Last-Event-ID` after the advised `retry:` delay. Start after an
   * event already seen with `lastEventId`.
   */
  async *streamRunEvents(
    runId: string,
    opts: { lastEventId?: string; signal?: AbortSignal; maxReconnects?: number } = {},
  ): AsyncGenerator<RunEvent> {
    let last = opts.lastEventId ?? null;
    let retryMs = 1000;
    for (let reconnects = 0; ; reconnects++) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.#opts.apiKey}`,
        accept: "text/event-stream",
      };
      if (last) headers["last-event-id"] = last;
      const res = await this.#opts.fetch(`${this.#opts.baseUrl}/v1/runs/${seg(runId)}/events`, {
        headers,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (!res.ok || !res.body) {
        const text = await res.text();
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {}
        throw new ThreadhookError(res.status, json, res.headers);
      }
      try {
        for await (const e of sseEvents(res.body)) {
          if (e.retry !== null) retryMs = e.retry;
          if (e.id === null || e.data === null) continue;
          const event = JSON.parse(e.data) as RunEvent;
          last = e.id;
          yield event;
          if (event.type !== "run.in_progress" && event.type !== "run.requires_action") return;
        }
      } catch (err) {
        if (opts.signal?.aborted) throw err;
      }
      if (reconnects >= (opts.maxReconnects ?? 1000)) throw new Error("the run's event feed did not end");
      await sleep(retryMs, opts.signal);
    }
  }
  redeliverRun(runId: string) {
    return this.request<T.Run>("POST", `/v1/runs/${seg(runId)}/redeliver`, {});
  }
  /** Schedules: runs on a cron in a time zone (a tenant-wide key; creating needs `editor`). */
  createSchedule(body: T.CreateScheduleRequest) {
    return this.request<T.Schedule>("POST", "/v1/schedules", body);
  }
  listSchedules(query: ListQuery = {}) {
    return this.request<T.ListSchedulesResponse>("GET", "/v1/schedules", undefined, { ...query });
  }
  getSchedule(scheduleId: string) {
    return this.request<T.Schedule>("GET", `/v1/schedules/${seg(scheduleId)}`);
  }
  updateSchedule(scheduleId: string, body: T.UpdateScheduleRequest) {
    return this.request<T.Schedule>("PATCH", `/v1/schedules/${seg(scheduleId)}`, body);
  }
  deleteSchedule(scheduleId: string) {
    return this.request<T.DeleteScheduleResponse>("DELETE", `/v1/schedules/${seg(scheduleId)}`);
  }
  getConversation(key: string) {
    return this.request<T.Thread>("GET", `/v1/conversations/${seg(key)}`);
  }
  forgetConversation(key: string) {
    return this.request<T.ForgetConversationResponse>("DELETE", `/v1/conversations/${seg(key)}`);
  }

  // Assistants (the definitions runs use).
  createAssistant(body: T.CreateAssistantRequest) {
    return this.request<T.Assistant>("POST", "/v1/assistants", body);
  }
  listAssistants(query: ListQuery = {}) {
    return this.request<T.ListAssistantsResponse>("GET", "/v1/assistants", undefined, { ...query });
  }
  getAssistant(assistantId: string) {
    return this.request<T.Assistant>("GET", `/v1/assistants/${seg(assistantId)}`);
  }
  modifyAssistant(assistantId: string, body: T.ModifyAssistantRequest) {
    return this.request<T.Assistant>("POST", `/v1/assistants/${seg(assistantId)}`, body);
  }
  deleteAssistant(assistantId: string) {
    return this.request<T.DeleteAssistantResponse>("DELETE", `/v1/assistants/${seg(assistantId)}`);
  }

  // A tenant's own account (an admin key).
  createKey(body: T.CreateKeyRequest) {
    return this.request<T.IssuedKey>("POST", "/v1/keys", body);
  }
  listKeys() {
    return this.request<T.ListKeysResponse>("GET", "/v1/keys");
  }
  revokeKey(keyId: string) {
    return this.request<T.ApiKey>("DELETE", `/v1/keys/${seg(keyId)}`);
  }
  rotateWebhookSecret(body: T.RotateWebhookSecretRequest = {}) {
    return this.request<T.RotatedSecret>("POST", "/v1/webhook_secrets/rotate", body);
  }
  /** `month` as `YYYY-MM` (default: this month). */
  getUsage(month?: string) {
    return this.request<T.Usage>("GET", "/v1/usage", undefined, { month });
  }

  // The operator API (the operator key).
  adminCreateTenant(body: T.AdminCreateTenantRequest = {}) {
    return this.request<T.CreatedTenant>("POST", "/v1/admin/tenants", body);
  }
  adminListTenants(query: ListQuery = {}) {
    return this.request<T.AdminListTenantsResponse>("GET", "/v1/admin/tenants", undefined, { ...query });
  }
  adminGetTenant(tenantId: string) {
    return this.request<T.Tenant>("GET", `/v1/admin/tenants/${seg(tenantId)}`);
  }
  adminUpdateTenant(tenantId: string, body: T.AdminUpdateTenantRequest) {
    return this.request<T.Tenant>("POST", `/v1/admin/tenants/${seg(tenantId)}`, body);
  }
  adminPatchTenant(tenantId: string, body: T.AdminUpdateTenantRequest) {
    return this.request<T.Tenant>("PATCH", `/v1/admin/tenants/${seg(tenantId)}`, body);
  }
  adminCreateKey(tenantId: string, body: T.CreateKeyRequest) {
    return this.request<T.IssuedKey>("POST", `/v1/admin/tenants/${seg(tenantId)}/keys`, body);
  }
  adminListKeys(tenantId: string) {
    return this.request<T.AdminListKeysResponse>("GET", `/v1/admin/tenants/${seg(tenantId)}/keys`);
  }
  adminRevokeKey(tenantId: string, keyId: string) {
    return this.request<T.ApiKey>("DELETE", `/v1/admin/tenants/${seg(tenantId)}/keys/${seg(keyId)}`);
  }
  adminGetUsage(tenantId: string, month?: string) {
    return this.request<T.Usage>("GET", `/v1/admin/tenants/${seg(tenantId)}/usage`, undefined, { month });
  }
  adminRotateWebhookSecret(tenantId: string, body: T.RotateWebhookSecretRequest = {}) {
    return this.request<T.RotatedSecret>(
      "POST",
      `/v1/admin/tenants/${seg(tenantId)}/webhook_secrets/rotate`,
      body,
    );
  }
}

/** An event of a run's feed: a callback's event object (`run.in_progress` and `run.requires_action` included). */
export interface RunEvent {
  id: string;
  type: string;
  created_at: number;
  data: { run: T.Run };
}

/** The events of a Server-Sent Events body: `id`, `event`, `data` (lines joined), `retry`. */
async function* sseEvents(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const e = {
          id: null as string | null,
          event: "message",
          data: null as string | null,
          retry: null as number | null,
        };
        for (const line of block.split("\n")) {
          if (line === "" || line.startsWith(":")) continue;
          const at = line.indexOf(":");
          const field = at < 0 ? line : line.slice(0, at);
          const val = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
          if (field === "id") e.id = val;
          else if (field === "event") e.event = val;
          else if (field === "data") e.data = e.data === null ? val : `${e.data}\n${val}`;
          else if (field === "retry" && /^\d+$/.test(val)) e.retry = Number(val);
        }
        yield e;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}
