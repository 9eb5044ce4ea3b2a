/**
 * In-process HTTP harness: the app from `createApp()` answering `app.request(...)` in this Node
 * process, with config pointing at the local stand-ins (real Redis behind the Upstash REST
 * protocol, QStash, OpenAI) but no Worker runtime and no step deliveries (PUBLIC_URL names a closed
 * port, so accepted runs stay queued). For validation, auth and fuzz tests that need routes and
 * state, not a run's life: start-up is a fraction of a second and a request costs no network hop
 * to a Worker.
 */
import { createApp } from "../../src/app";
import type { DepsFactory } from "../../src/deps";
import { devWorkerVars, startStack } from "../../dev/stack.ts";
import { jsonClient } from "./e2e";
import { registerSecrets } from "./log-capture/registry.ts";
import { checkedFetch } from "./openapi-check.ts";

export type InProcess = Awaited<ReturnType<typeof startInProcess>>;

export async function startInProcess(opts: { vars?: Record<string, string>; deps?: DepsFactory } = {}) {
  const stack = await startStack({
    ports: { redis: 0, qstash: 0, openai: 0, inbox: 0, slack: 0, discord: 0 },
    worker: false,
  });
  const env: Record<string, string> = {
    ...devWorkerVars(stack.ready),
    // Nothing listens on port 9 (discard): published steps are never driven here.
    PUBLIC_URL: "http://127.0.0.1:9",
    RATE_LIMIT_PER_MIN: "0",
    // Every request comes from one address here; failed-auth throttling is tested with its own limit.
    AUTH_FAILURES_PER_MIN: "0",
    LOG_LEVEL: "warn",
    // The security tests and the fuzz read every route's answer: a run's event feed answers at once.
    EVENT_FEED_WINDOW_S: "0",
    ...opts.vars,
  };
  registerSecrets({
    apiKey: env.API_KEY,
    operatorKey: env.OPERATOR_KEY,
    webhookSecret: env.WEBHOOK_SECRET,
    redisToken: env.UPSTASH_REDIS_REST_TOKEN,
    qstashToken: env.QSTASH_TOKEN,
    openaiKey: env.OPENAI_API_KEY,
  });
  const app = createApp(opts.deps ? { deps: opts.deps } : {});
  /** A raw request, as a client would send it; its answer is checked against the OpenAPI description. */
  const fetchApp = checkedFetch((path: string, init: RequestInit = {}) =>
    Promise.resolve(app.request(`http://threadhook.test${path}`, init, env)),
  );
  const client = jsonClient(fetchApp);
  return {
    app,
    env,
    stack,
    fetch: fetchApp,
    client,
    api: client(env.API_KEY as string),
    admin: client(env.OPERATOR_KEY as string),
    inboxUrl: stack.inbox.url,
    close: () => stack.close(),
  };
}
