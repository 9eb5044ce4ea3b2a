// Callback inbox: receives webhook deliveries on any path, verifies Standard Webhooks signatures,
// keeps them for tests and people, and answers as told (fail the next K, slow, scripted bodies).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { type FaultRule, Faults } from "../faults.ts";
import { flatHeaders, parseMaybeJson, readBody, reply } from "./http.ts";
import { renderPage } from "./page.ts";
import { type DeliveryFilter, DeliveryStore } from "./store.ts";

export type Delivery = {
  seq: number;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else the raw text. */
  body: unknown;
  raw: string;
  verified: boolean;
  verify_error: string | null;
  webhook_id: string | null;
  received_at_ms: number;
  /** The status answered; 0 when a `timeout` fault dropped the connection instead. */
  answered_status: number;
  injected_failure: boolean;
  /** The fault switch that applied (`error`, `timeout`, `slow`), else null. */
  fault: string | null;
};

export type InboxBehaviour = {
  /** Only for this path; omitted: the default for every path without its own behaviour. */
  path?: string;
  status?: number;
  delayMs?: number;
  /** Reply body: a string is sent as text, anything else as JSON (e.g. `{ tool_outputs: [...] }`). */
  body?: unknown;
};

export type InboxOptions = {
  port?: number;
  host?: string;
  secret?: string;
  maxDeliveries?: number;
  /** Fault switches (README: `error`, `timeout`, `slow`). */
  faultRules?: FaultRule[];
  /** Seed of the fault draws (default 1). */
  faultSeed?: number;
};

export const INBOX_FAULT_KINDS = ["error", "timeout", "slow"] as const;

export type InboxStats = {
  requests: number;
  deliveries: number;
  verified: number;
  unverified: number;
  injectedFailures: number;
  byPath: Record<string, number>;
};

export type InboxHandle = {
  url: string;
  secret: string;
  deliveries(filter?: DeliveryFilter): Delivery[];
  /** Wait until at least `min` deliveries match (default timeout 10 s); returns the matches. */
  waitFor(min: number, filter?: DeliveryFilter & { timeoutMs?: number }): Promise<Delivery[]>;
  failNext(k: number, status?: number): void;
  setBehaviour(behaviour: InboxBehaviour): void;
  /** Forget the deliveries (behaviours and pending failures stay). */
  clear(): void;
  /** Back to a fresh inbox: no deliveries, behaviours, failures or counters. */
  reset(): void;
  stats(): InboxStats;
  /** The fault switches (same as `POST /__faults`). */
  faults: Faults;
  /** Show another stand-in's record on the page too (the Slack stand-in: what the bot posted). */
  addSection(title: string, html: () => string): void;
  close(): Promise<void>;
};

/** The documented dev secret: `whsec_` + base64 of the bytes 0x00…0x1f. */
export const DEFAULT_INBOX_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const MAX_WAIT_MS = 60_000;

const freshStats = (): InboxStats => ({
  requests: 0,
  deliveries: 0,
  verified: 0,
  unverified: 0,
  injectedFailures: 0,
  byPath: {},
});

export async function startInbox(opts: InboxOptions = {}): Promise<InboxHandle> {
  const secret = opts.secret ?? DEFAULT_INBOX_SECRET;
  const verifier = new Webhook(secret);
  const store = new DeliveryStore(opts.maxDeliveries ?? 1000);
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const sections: { title: string; html: () => string }[] = [];
  const faults = new Faults(INBOX_FAULT_KINDS, opts.faultRules ?? [], opts.faultSeed ?? 1);
  const state = {
    stats: freshStats(),
    failures: { left: 0, status: 500 },
    fallback: {} as InboxBehaviour,
    byPath: new Map<string, InboxBehaviour>(),
  };
  const setBehaviour = (b: InboxBehaviour): void => {
    if (b.path === undefined) state.fallback = { ...b };
    else state.byPath.set(b.path, { ...b });
  };
  const failNext = (k: number, status = 500): void => {
    state.failures = { left: Math.max(0, Math.floor(k)), status };
  };
  const reset = (): void => {
    store.clear();
    state.stats = freshStats();
    state.failures = { left: 0, status: 500 };
    state.fallback = {};
    state.byPath.clear();
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, { error: `inbox: ${String(error)}` }));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const raw = (await readBody(req)).toString("utf8");
    if (method === "GET" && url.pathname === "/")
      return reply(res, 200, renderPage(store.list(), sections), "text/html");
    if (method === "GET" && url.pathname === "/deliveries") return listDeliveries(url.searchParams, res);
    if (url.pathname === "/__faults") {
      const answer = faults.control(method, raw);
      return reply(res, answer.status, answer.body);
    }
    if (url.pathname.startsWith("/__")) return control(`${method} ${url.pathname}`, raw, res);
    if (method === "GET" || method === "HEAD")
      return reply(res, 404, { error: "inbox: POST deliveries here" });
    await receive(req, url, raw, res);
  }

  async function receive(req: http.IncomingMessage, url: URL, raw: string, res: http.ServerResponse) {
    const headers = flatHeaders(req.headers);
    const check = verify(verifier, raw, headers);
    const injected = state.failures.left > 0;
    if (injected) state.failures.left--;
    const behaviour = state.byPath.get(url.pathname) ?? state.fallback;
    const subject = `${req.method ?? "POST"} ${url.pathname}`;
    const fault = injected
      ? null
      : (faults.take("error", subject) ?? faults.take("timeout", subject) ?? faults.take("slow", subject));
    const status = injected
      ? state.failures.status
      : fault?.kind === "error"
        ? (fault.status ?? 500)
        : fault?.kind === "timeout"
          ? 0
          : (behaviour.status ?? 200);
    const delivery: Delivery = {
      seq: ++store.seq,
      method: req.method ?? "POST",
      path: url.pathname,
      query: url.search,
      headers,
      body: parseMaybeJson(raw),
      raw,
      verified: check.ok,
      verify_error: check.error,
      webhook_id: headers["webhook-id"] ?? null,
      received_at_ms: Date.now(),
      answered_status: status,
      injected_failure: injected,
      fault: fault?.kind ?? null,
    };
    count(delivery);
    store.add(delivery);
    if (injected) return reply(res, status, { error: "inbox: injected failure" });
    if (fault?.kind === "error") {
      const headers: Record<string, string> =
        fault.retryAfterS !== undefined ? { "retry-after": String(fault.retryAfterS) } : {};
      return reply(
        res,
        status,
        { error: "inbox: injected error (fault switch)" },
        "application/json",
        headers,
      );
    }
    if (fault?.kind === "timeout") {
      await sleep(fault.delayMs ?? 15_000);
      res.destroy();
      return;
    }
    if (fault?.kind === "slow") await sleep(fault.delayMs ?? 3_000);
    if (behaviour.delayMs) await sleep(behaviour.delayMs);
    reply(res, status, behaviour.body === undefined ? { ok: true } : behaviour.body);
  }

  function count(d: Delivery): void {
    const s = state.stats;
    s.requests++;
    s.deliveries++;
    if (d.verified) s.verified++;
    else s.unverified++;
    if (d.injected_failure) s.injectedFailures++;
    s.byPath[d.path] = (s.byPath[d.path] ?? 0) + 1;
  }

  async function listDeliveries(query: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const filter = filterOf(query);
    const min = Number(query.get("min") ?? 1);
    const waitMs = Math.min(Number(query.get("wait_ms") ?? 0) || 0, MAX_WAIT_MS);
    const { data, satisfied } =
      waitMs > 0 ? await store.wait(filter, min, waitMs) : { data: store.list(filter), satisfied: true };
    reply(res, 200, { object: "list", data, count: data.length, satisfied: waitMs > 0 ? satisfied : true });
  }

  function control(key: string, raw: string, res: http.ServerResponse) {
    const input = (parseMaybeJson(raw) ?? {}) as Record<string, unknown>;
    if (key === "POST /__inbox/fail") {
      failNext(Number(input.next ?? 1), typeof input.status === "number" ? input.status : 500);
      return reply(res, 200, { failures: state.failures });
    }
    if (key === "POST /__inbox/behaviour") {
      setBehaviour(input as InboxBehaviour);
      return reply(res, 200, { fallback: state.fallback, byPath: Object.fromEntries(state.byPath) });
    }
    if (key === "POST /__inbox/clear") store.clear();
    else if (key === "POST /__inbox/reset") reset();
    else if (key === "POST /__stats/reset") state.stats = freshStats();
    else if (key !== "GET /__stats")
      return reply(res, 404, { error: `inbox: unknown control endpoint ${key}` });
    reply(res, 200, state.stats);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    secret,
    deliveries: (filter = {}) => structuredClone(store.list(filter)),
    waitFor: async (min, filter = {}) => {
      const { timeoutMs = 10_000, ...rest } = filter;
      return structuredClone((await store.wait(rest, min, timeoutMs)).data);
    },
    failNext,
    setBehaviour,
    clear: () => store.clear(),
    reset,
    stats: () => structuredClone(state.stats),
    faults,
    addSection: (title, html) => {
      sections.push({ title, html });
    },
    close: async () => {
      store.releaseAll();
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function verify(verifier: Webhook, raw: string, headers: Record<string, string>) {
  try {
    verifier.verify(raw, headers);
    return { ok: true, error: null };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function filterOf(query: URLSearchParams): DeliveryFilter {
  const filter: DeliveryFilter = {};
  const path = query.get("path");
  if (path) filter.path = path;
  const since = Number(query.get("since"));
  if (query.has("since") && Number.isFinite(since)) filter.since = since;
  const verified = query.get("verified");
  if (verified === "true" || verified === "false") filter.verified = verified === "true";
  return filter;
}
