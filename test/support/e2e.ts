/** End-to-end harness: the whole local stack plus the Worker in workerd, and a tiny API client. */
import { type StackOptions, startStack } from "../../dev/stack.ts";

export type E2E = Awaited<ReturnType<typeof startE2E>>;

export async function startE2E(opts: StackOptions = {}) {
  const stack = await startStack({
    ports: { worker: 0, redis: 0, qstash: 0, openai: 0, inbox: 0 },
    worker: true,
    timeScale: 0.01,
    openaiDelayMs: 300,
    ...opts,
    workerVars: {
      LOG_LEVEL: "warn",
      DELIVERY_RETRIES: "2",
      DELIVERY_BACKOFF_S: "0.2,0.5",
      ...opts.workerVars,
    },
  });
  const worker = stack.worker?.url as string;
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${worker}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${stack.ready.apiKey}`,
        "content-type": "application/json",
        ...headers,
      },
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
  const createAssistant = async (extra: Record<string, unknown> = {}) => {
    const r = await api("POST", "/v1/assistants", {
      model: "gpt-sim",
      instructions: "Be helpful.",
      ...extra,
    });
    if (r.status !== 200) throw new Error(`assistant create failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as { id: string };
  };
  /** Wait until a run reaches one of the statuses (polling GET). */
  const waitForRun = async (id: string, statuses: string[], timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await api("GET", `/v1/runs/${id}`);
      if (statuses.includes(r.body?.status)) return r.body;
      if (Date.now() > until) throw new Error(`run ${id} still ${r.body?.status} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  return { stack, worker, api, createAssistant, waitForRun, inbox: stack.inbox, close: () => stack.close() };
}

let counter = 0;
/** A unique callback path on the inbox, so tests in one file do not see each other's deliveries. */
export const hookPath = (name: string) => `/hooks/${name}-${Date.now()}-${++counter}`;
