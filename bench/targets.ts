/** The two systems under test, behind one `Target` interface: threadhook (via the meter) and the baseline. */
import type { Sent, Target } from "./driver.ts";
import type { StackChild } from "./stack-client.ts";

const IDLE_WAIT_MS = 30_000;

async function timedPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Sent> {
  const sent_ms = Date.now();
  const t0 = performance.now();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    const json = (await res.json().catch(() => null)) as { id?: string } | null;
    const latency_ms = performance.now() - t0;
    const ok = res.status === 202 && typeof json?.id === "string";
    return { run_id: ok ? (json?.id ?? null) : null, status: res.status, sent_ms, latency_ms };
  } catch {
    return { run_id: null, status: 0, sent_ms, latency_ms: performance.now() - t0 };
  }
}

export async function threadhookTarget(child: StackChild): Promise<Target> {
  const meter = child.ready.meter as string;
  const auth = { authorization: `Bearer ${child.ready.apiKey}` };
  const res = await fetch(`${meter}/v1/assistants`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ model: "gpt-sim", name: "bench", instructions: "Answer briefly." }),
  });
  const assistant = (await res.json()) as { id: string };
  if (res.status !== 200) throw new Error(`could not create the bench assistant: ${res.status}`);
  return {
    send: (input, callbackUrl, key) =>
      timedPost(
        `${meter}/v1/messages`,
        { assistant_id: assistant.id, conversation: key, input, callback_url: callbackUrl },
        auth,
      ),
    idle: async () => {
      for (let i = 0; i < 10; i++) {
        const r = await child.getJson(`${meter}/__bench/idle?wait_ms=${IDLE_WAIT_MS}`);
        if (r.idle) return;
      }
    },
    serialize: async (on) => {
      await child.post(`${meter}/__bench/mode`, { serialize: on });
    },
  };
}

export function baselineTarget(url: string): Target {
  return {
    send: (input, callbackUrl) => timedPost(`${url}/messages`, { input, callback_url: callbackUrl }),
    idle: async () => {},
    serialize: async () => {},
    selfCpu: {
      runs: async () => {
        const runs = (await (await fetch(`${url}/__runs`)).json()) as { id: string; cpu_ns: number | null }[];
        await fetch(`${url}/__reset`);
        return runs;
      },
      total: async () => ((await (await fetch(`${url}/__cpu`)).json()) as { cpu_ns: number }).cpu_ns,
    },
  };
}
