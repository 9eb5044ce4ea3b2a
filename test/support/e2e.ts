/** End-to-end harness: the whole local stack plus the Worker in workerd, and a tiny API client. */
import { Client } from "@upstash/qstash";
import { type StackOptions, startStack } from "../../dev/stack.ts";
import { registerCanary, registerSecrets } from "./log-capture/registry.ts";
import { checkedFetch } from "./openapi-check.ts";

export type E2E = Awaited<ReturnType<typeof startE2E>>;
export type Api = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; body: any; headers: Headers }>;

export async function startE2E(opts: StackOptions = {}) {
  const stack = await startStack({
    ports: { worker: 0, redis: 0, qstash: 0, openai: 0, inbox: 0, slack: 0, discord: 0 },
    worker: true,
    timeScale: 0.01,
    openaiDelayMs: 300,
    // Every line the Worker logs reaches this process, where the suite's log check captures it.
    workerLogLevel: "log",
    ...opts,
    workerVars: {
      LOG_LEVEL: "debug",
      // The fuzz and the security tests read every route's answer: a run's event feed answers at once.
      EVENT_FEED_WINDOW_S: "0",
      DELIVERY_RETRIES: "2",
      DELIVERY_BACKOFF_S: "0.2,0.5",
      // Tests poll hard with the bootstrap key; rate limits are tested with keys that have their own.
      RATE_LIMIT_PER_MIN: "0",
      // Tests send wrong keys on purpose from one address (the fuzz); throttling: test/http/edges.test.ts.
      AUTH_FAILURES_PER_MIN: "0",
      ...opts.workerVars,
    },
  });
  const worker = stack.worker?.url as string;
  const { ready } = stack;
  registerSecrets({
    apiKey: ready.apiKey,
    operatorKey: ready.operatorKey,
    webhookSecret: ready.webhookSecret,
    redisToken: ready.redis.token,
    qstashToken: ready.qstash.token,
    qstashCurrentSigningKey: ready.qstash.currentSigningKey,
    qstashNextSigningKey: ready.qstash.nextSigningKey,
    openaiKey: ready.openai.apiKey,
    slackBotToken: ready.slack.botToken,
    slackSigningSecret: ready.slack.signingSecret,
  });
  await emitCanary(worker);
  // Every answer through this client is checked against the OpenAPI description.
  const client = jsonClient(checkedFetch((path, init) => fetch(`${worker}${path}`, init)));
  const api = client(ready.apiKey as string);
  const admin = client(ready.operatorKey as string);
  const createAssistant = async (extra: Record<string, unknown> = {}, as: Api = api) => {
    const r = await as("POST", "/v1/assistants", { model: "gpt-sim", instructions: "Be helpful.", ...extra });
    if (r.status !== 200) throw new Error(`assistant create failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as { id: string };
  };
  /** Wait until a run reaches one of the statuses (polling GET). */
  const waitForRun = async (id: string, statuses: string[], timeoutMs = 20_000, as: Api = api) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await as("GET", `/v1/runs/${id}`);
      if (statuses.includes(r.body?.status)) return r.body;
      if (Date.now() > until) throw new Error(`run ${id} still ${r.body?.status} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  /** A new tenant (through the operator API) and a way to issue keys on it. */
  const createTenant = async (body: Record<string, unknown> = {}) => {
    const t = await admin("POST", "/v1/admin/tenants", body);
    if (t.status !== 201) throw new Error(`tenant create failed: ${t.status} ${JSON.stringify(t.body)}`);
    registerSecrets({ [`tenant ${t.body.id} webhook secret`]: t.body.webhook_secret });
    const issue = async (role: string, extra: Record<string, unknown> = {}) => {
      const k = await admin("POST", `/v1/admin/tenants/${t.body.id}/keys`, { role, ...extra });
      if (k.status !== 201) throw new Error(`key create failed: ${k.status} ${JSON.stringify(k.body)}`);
      registerSecrets({ [`key ${k.body.id}`]: k.body.key });
      return { ...(k.body as { id: string; key: string }), api: client(k.body.key) };
    };
    return { id: t.body.id as string, webhookSecret: t.body.webhook_secret as string, issue };
  };
  return {
    stack,
    worker,
    api,
    admin,
    client,
    createAssistant,
    createTenant,
    waitForRun,
    inbox: stack.inbox,
    slack: stack.slack,
    close: () => stack.close(),
  };
}

/** An API client over any fetch: JSON in, `{ status, body (JSON or text), headers }` out. */
export const jsonClient =
  (send: (path: string, init: RequestInit) => Promise<Response>) =>
  (key: string): Api =>
  async (method, path, body, headers = {}) => {
    const res = await send(path, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  };

/**
 * Make the Worker log a line that carries a unique marker (a refused step delivery logs its
 * message id), so the suite's log check can prove it captured this Worker's output.
 */
async function emitCanary(worker: string): Promise<void> {
  const marker = registerCanary();
  const res = await fetch(`${worker}/internal/steps/drive`, {
    method: "POST",
    headers: { "upstash-message-id": marker, "content-type": "application/json" },
    body: "{}",
  });
  await res.body?.cancel();
  if (res.status !== 401) throw new Error(`canary step call answered ${res.status}, not 401`);
}

let counter = 0;
/** A unique callback path on the inbox, so tests in one file do not see each other's deliveries. */
export const hookPath = (name: string) => `/hooks/${name}-${Date.now()}-${++counter}`;

/** Call the reconciler once, as a deployment's QStash schedule does, and wait until QStash delivered it. */
export async function reconcileOnce(e2e: E2E) {
  const qstash = new Client({ baseUrl: e2e.stack.qstash.url, token: e2e.stack.qstash.token });
  const delivered = () => e2e.stack.qstash.stats().byDestinationPath["/internal/steps/reconcile"] ?? 0;
  const before = delivered();
  await qstash.publishJSON({ url: `${e2e.worker}/internal/steps/reconcile`, body: {} });
  const until = Date.now() + 20_000;
  while (delivered() <= before) {
    if (Date.now() > until) throw new Error("the reconcile call was not delivered");
    await new Promise((r) => setTimeout(r, 50));
  }
}
