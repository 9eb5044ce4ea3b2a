// OpenAI Responses + Conversations simulator (see README.md for the scripting contract).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { contextWindowsInfo, freshContextWindows, setContextWindows } from "./context-window.ts";
import { type FaultRule, Faults, sleep } from "../faults.ts";
import { parseJsonObject, readBody, SimError, sendError, sendJson } from "./http.ts";
import type { RouteContext } from "./route-kit.ts";
import { httpError } from "./responses.ts";
import { ROUTES, simResponseInfo } from "./routes.ts";
import { clearState, freshStats, notify, type SimState, type SimStats, type WebhookConfig } from "./state.ts";

export type OpenAISimOptions = {
  port?: number;
  host?: string;
  /** Bearer key clients must send (default `sk-threadhook-dev`). */
  apiKey?: string;
  /** Multiplies every delay (scripted delays, queued moment, webhook retries); default 1. */
  timeScale?: number;
  /** Creation → terminal status when no script says otherwise, before scaling (default 1500). */
  defaultDelayMs?: number;
  /** Vector store ingestion time per file, before scaling (default 500). */
  ingestDelayMs?: number;
  /** POST signed `response.*` webhooks for background responses here. */
  webhook?: WebhookConfig;
  /**
   * Answer a create without `input` 400 (`missing_required_parameter`, param `input`) even when it
   * names a conversation, as an upstream stricter than the published spec would (default false).
   */
  requireInput?: boolean;
  /** Context windows (tokens) of named models; others have 1,000,000 (context-window.ts). */
  contextWindows?: Record<string, number>;
  /** Fault switches (README: `slow_create`, `drop_after_create`, `http_error`, `cut_stream`, `webhook_*`). */
  faultRules?: FaultRule[];
  /** Seed of the fault draws (default 1). */
  faultSeed?: number;
};

export const OPENAI_FAULT_KINDS = [
  "http_error",
  "slow_create",
  "drop_after_create",
  "cut_stream",
  "webhook_drop",
  "webhook_duplicate",
  "webhook_delay",
] as const;

export type OpenAISimStats = SimStats & {
  responses: number;
  conversations: number;
  files: number;
  vectorStores: number;
  containers: number;
};

export type OpenAISimHandle = {
  /** Base URL for the SDK, ending with `/v1`. */
  baseURL: string;
  /** Server root (for `/__sim/*` and `/__stats`). */
  url: string;
  apiKey: string;
  stats(): OpenAISimStats;
  /** Forget every response, conversation, counter and http_error count; keeps the webhook setting. */
  reset(): void;
  setWebhook(webhook: WebhookConfig | null): void;
  /** The fault switches (same as `POST /__faults`). */
  faults: Faults;
  close(): Promise<void>;
};

export const DEFAULT_API_KEY = "sk-threadhook-dev";
export const DEFAULT_DELAY_MS = 1500;
export const DEFAULT_INGEST_DELAY_MS = 500;

export async function startOpenAISim(opts: OpenAISimOptions = {}): Promise<OpenAISimHandle> {
  const apiKey = opts.apiKey ?? DEFAULT_API_KEY;
  const state: SimState = {
    responses: new Map(),
    conversations: new Map(),
    files: new Map(),
    vectorStores: new Map(),
    containers: new Map(),
    ingestDelayMs: opts.ingestDelayMs ?? DEFAULT_INGEST_DELAY_MS,
    httpErrorsServed: new Map(),
    stats: freshStats(),
    timers: new Set(),
    aborts: new Set(),
    closed: false,
    epoch: 0,
    webhook: opts.webhook ?? null,
    timeScale: opts.timeScale ?? 1,
    defaultDelayMs: opts.defaultDelayMs ?? DEFAULT_DELAY_MS,
    requireInput: opts.requireInput ?? false,
    contextWindows: freshContextWindows(opts.contextWindows),
    faults: new Faults(OPENAI_FAULT_KINDS, opts.faultRules ?? [], opts.faultSeed ?? 1),
  };
  const stats = (): OpenAISimStats => ({
    ...structuredClone(state.stats),
    responses: state.responses.size,
    conversations: state.conversations.size,
    files: state.files.size,
    vectorStores: state.vectorStores.size,
    containers: state.containers.size,
  });

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof SimError) return sendError(res, error);
      sendError(res, new SimError(500, `openai-sim: ${String(error)}`, { type: "server_error" }));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const body = method === "POST" ? await readBody(req) : Buffer.alloc(0);
    if (url.pathname.startsWith("/__")) return control(method, url.pathname, body, res);
    state.stats.requests++;
    const path = url.pathname.startsWith("/v1/") ? url.pathname.slice(3) : "";
    const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    const endpoint = route ? route.name : `${method} (unknown)`;
    state.stats.byEndpoint[endpoint] = (state.stats.byEndpoint[endpoint] ?? 0) + 1;
    const denied = authError(req, apiKey);
    if (denied) {
      state.stats.unauthorized++;
      return sendError(res, denied);
    }
    if (!route) {
      return sendError(res, new SimError(404, `Invalid URL (${method} ${url.pathname})`));
    }
    const subject = `${method} ${url.pathname}`;
    const failed = state.faults.take("http_error", subject);
    if (failed) {
      const headers: Record<string, string> =
        failed.retryAfterS !== undefined ? { "retry-after": String(failed.retryAfterS) } : {};
      return sendError(res, httpError(failed.status ?? 500, headers));
    }
    if (route.name === "POST /v1/responses") {
      const slow = state.faults.take("slow_create", subject);
      if (slow) await sleep(slow.delayMs ?? 5_000);
    }
    const ctx: RouteContext = {
      state,
      res,
      params: (route.pattern.exec(path) ?? []).slice(1).map(decodeURIComponent),
      query: url.searchParams,
      body: () => parseJsonObject(body),
      raw: body,
      contentType: String(req.headers["content-type"] ?? ""),
      via: req.headers["upstash-message-id"] ? "qstash" : "direct",
    };
    await route.handle(ctx);
  }

  function control(method: string, pathname: string, body: Buffer, res: http.ServerResponse) {
    const key = `${method} ${pathname}`;
    if (key === "GET /__sim/stats" || key === "GET /__stats") return sendJson(res, 200, stats());
    if (key === "GET /__faults" || key === "POST /__faults") {
      const answer = state.faults.control(method, body.toString("utf8"));
      return sendJson(res, answer.status, answer.body);
    }
    if (key === "POST /__stats/reset") {
      state.stats = freshStats();
      return sendJson(res, 200, stats());
    }
    if (key === "POST /__sim/reset") {
      clearState(state);
      return sendJson(res, 200, stats());
    }
    if (key === "POST /__sim/webhook") {
      const input = body.length ? (JSON.parse(body.toString("utf8")) as WebhookConfig | null) : null;
      state.webhook = input?.url && input.secret ? { url: input.url, secret: input.secret } : null;
      return sendJson(res, 200, { webhook: state.webhook ? { url: state.webhook.url } : null });
    }
    if (key === "POST /__sim/config") {
      const input = body.length ? (JSON.parse(body.toString("utf8")) as { require_input?: unknown }) : {};
      if (typeof input.require_input === "boolean") state.requireInput = input.require_input;
      return sendJson(res, 200, { require_input: state.requireInput });
    }
    if (key === "POST /__sim/context_windows") {
      const input = body.length ? JSON.parse(body.toString("utf8")) : {};
      return sendJson(res, 200, setContextWindows(state, input));
    }
    if (key === "GET /__sim/context_windows") return sendJson(res, 200, contextWindowsInfo(state));
    if (key === "GET /__sim/responses") {
      return sendJson(res, 200, { data: [...state.responses.values()].map(simResponseInfo) });
    }
    const match = /^GET \/__sim\/responses\/([^/]+)$/.exec(key);
    const record = match ? state.responses.get(decodeURIComponent(match[1] ?? "")) : undefined;
    if (record) return sendJson(res, 200, simResponseInfo(record));
    sendJson(res, 404, {
      error: { message: `unknown control endpoint ${key}`, type: "invalid_request_error" },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const root = `http://${host}:${address.port}`;

  return {
    baseURL: `${root}/v1`,
    url: root,
    apiKey,
    stats,
    reset: () => clearState(state),
    setWebhook: (webhook) => {
      state.webhook = webhook;
    },
    faults: state.faults,
    close: async () => {
      state.closed = true;
      const records = [...state.responses.values()];
      clearState(state);
      for (const record of records) notify(record);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function authError(req: http.IncomingMessage, apiKey: string): SimError | null {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    return new SimError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    );
  }
  if (match[1] === apiKey) return null;
  const shown = `${(match[1] ?? "").slice(0, 3)}****${(match[1] ?? "").slice(-4)}`;
  return new SimError(
    401,
    `Incorrect API key provided: ${shown}. The simulator expects its configured key.`,
    {
      code: "invalid_api_key",
    },
  );
}
