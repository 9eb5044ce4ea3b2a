/**
 * The fault soak (docs/reliability.md): thousands of runs through the local stack with faults
 * injected at every boundary, then the invariants checked against Redis, the OpenAI stand-in's
 * records and the inbox.
 *
 *   npm run soak                      10,000 runs
 *   npm run soak -- --quick           500 runs (CI)
 *   npm run soak -- --seed 1234       replay a seed (the workload and every stand-in's fault draws)
 *   options: --runs N, --lanes N, --no-faults, --strategies call,poll,stream,webhook, --json, --verbose,
 *            --worker-logs LEVEL (the Workers' logs: debug, info, warn)
 *
 * Last line: `soak: runs=N lost=N duplicate_callbacks=N duplicate_responses=N stuck=N late_callbacks=N
 * token_mismatch=N`; exit 1 when lost, a duplicate, stuck or token_mismatch is not 0.
 */
import { Client as QStashClient } from "@upstash/qstash";
import { Redis } from "@upstash/redis";
import { type FaultRule, seededRandom } from "../dev/faults.ts";
import { DEV_API_KEY, devWorkerVars, startStack } from "../dev/stack.ts";
import { startWorker, type WorkerHandle } from "../dev/worker.ts";

type Door = "webhook" | "assistants";
type Strategy = "call" | "poll" | "stream" | "webhook" | "budget-poll" | "auto";
type Args = {
  runs: number;
  seed: number;
  lanes: number;
  faults: boolean;
  strategies: Strategy[];
  json: boolean;
  quick: boolean;
};

const TERMINAL = new Set(["completed", "failed", "cancelled", "expired", "incomplete"]);
const TIME_SCALE = 0.01;
/**
 * A deployment has QStash call the reconciler every minute (docs/deploy.md), which restarts runs no
 * step has leased or saved for RECONCILE_GRACE_S (300 s). The soak does the same, faster: through
 * the QStash stand-in every few seconds, with a grace that is still longer than any step.
 */
const RECONCILE_EVERY_MS = 5_000;
const RECONCILE_GRACE_S = 45;
/** The Worker's callback timeout (src/engine/constants.ts DELIVERY_TIMEOUT_MS). */
const DELIVERY_TIMEOUT_MS = 10_000;
const verbose = process.argv.includes("--verbose");
/** `--worker-logs LEVEL`: the Workers' own JSON logs (info, warn, …) on the soak's output. */
const workerLogs = (() => {
  const i = process.argv.indexOf("--worker-logs");
  return i >= 0 ? (process.argv[i + 1] ?? "warn") : null;
})();

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes("--quick");
  const seedArg = get("seed");
  const seed = seedArg !== undefined ? Number(seedArg) : Math.floor(Math.random() * 2 ** 31);
  const runs = Number(get("runs") ?? (quick ? 500 : 10_000));
  const lanes = Number(get("lanes") ?? (quick ? 40 : 48));
  for (const [name, v] of Object.entries({ seed, runs, lanes }))
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number`);
  const strategies = (get("strategies") ?? "call,poll,stream,webhook").split(",") as Strategy[];
  return {
    runs,
    seed,
    lanes,
    faults: !argv.includes("--no-faults"),
    strategies,
    json: argv.includes("--json"),
    quick,
  };
}

/** The fault mix at every boundary. Fractions are per request (Redis sees ~30 requests per run). */
export function faultMix(quick = false): Record<"redis" | "qstash" | "openai" | "inbox", FaultRule[]> {
  return {
    redis: [
      { kind: "error_before", fraction: 0.004, status: 500 },
      { kind: "error_before", fraction: 0.002, status: 503, retryAfterS: 1 },
      { kind: "error_after", fraction: 0.003, status: 500 },
      { kind: "timeout_before", fraction: 0.0005, delayMs: 1_500 },
      { kind: "timeout_after", fraction: 0.0005, delayMs: 1_500 },
    ],
    qstash: [
      { kind: "duplicate", fraction: 1, match: "/internal/steps/" },
      { kind: "reorder", fraction: 0.2, delayMs: 300 },
      { kind: "late", fraction: 0.03, delayMs: 2_000 },
      { kind: "drop_delivery", fraction: quick ? 0.01 : 0.03, afterMs: 30, match: "/internal/steps/" },
      { kind: "publish_refuse", fraction: 0.02, status: 429, retryAfterS: 1 },
      { kind: "publish_refuse", fraction: 0.01, status: 500 },
    ],
    openai: [
      { kind: "http_error", fraction: 0.02, status: 429, retryAfterS: 1, match: "POST /v1/responses" },
      { kind: "http_error", fraction: 0.01, status: 429, match: "POST /v1/responses" },
      { kind: "http_error", fraction: 0.015, status: 500 },
      { kind: "http_error", fraction: 0.01, status: 503, retryAfterS: 1 },
      { kind: "drop_after_create", fraction: 0.02 },
      { kind: "slow_create", fraction: 0.02, delayMs: 2_000 },
      { kind: "cut_stream", fraction: 0.05, afterMs: 20 },
      { kind: "webhook_drop", fraction: 0.03 },
      { kind: "webhook_delay", fraction: 0.05, delayMs: 1_000 },
      { kind: "webhook_duplicate", fraction: 0.05, delayMs: 100 },
    ],
    inbox: [
      { kind: "error", fraction: 0.08, status: 500, match: "/soak/cb/" },
      { kind: "error", fraction: 0.02, status: 503, retryAfterS: 1, match: "/soak/cb/" },
      { kind: "timeout", fraction: 0.005, delayMs: 11_000, match: "/soak/cb/" },
      { kind: "slow", fraction: 0.05, delayMs: 1_000, match: "/soak/cb/" },
      { kind: "error", fraction: 0.05, status: 500, match: "/tools/" },
      { kind: "slow", fraction: 0.05, delayMs: 1_500, match: "/tools/" },
      { kind: "timeout", fraction: 0.01, delayMs: 3_000, match: "/tools/" },
    ],
  };
}

type Planned = { n: number; lane: number; door: Door; tool: boolean; delayMs: number };
type Accepted = Planned & { runId: string; callbackPath: string; acceptedAt: number };
/** A JSON answer of the Worker or a stand-in, read loosely: the soak only inspects a few fields. */
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked field by field where used
type Json = any;
type Final = Accepted & { status: string; run: Json };

/** A run's last timeline entries, to tell why it is where it is. */
const timelineTail = (run: Json) =>
  JSON.stringify(((run?.timeline ?? []) as Json[]).slice(-5).map((t) => `${t.status}: ${t.cause}`));

/**
 * `--verbose`: for each function call a run failed on ("No tool output found for function call
 * …", invalid_prompt), the run whose response made that call, with its whole timeline and its
 * responses as the OpenAI stand-in recorded them: the run that left the call open.
 */
async function traceOpenCalls(
  runs: Json[],
  responses: Json[],
  api: (method: string, path: string) => Promise<{ status: number; body: Json }>,
) {
  const callIds = new Set<string>();
  for (const r of runs) {
    const m = /function call (\S+?)\.?$/.exec(String(r?.last_error?.message ?? ""));
    if (r?.last_error?.code === "invalid_prompt" && m?.[1]) callIds.add(m[1]);
  }
  for (const callId of [...callIds].slice(0, 10)) {
    const maker = responses.find((x) => (x.output_call_ids ?? []).includes(callId));
    const runId = maker?.metadata?.threadhook_run;
    console.log(
      `open call ${callId}: made by ${maker?.id ?? "?"} (run ${runId ?? "?"}, round ${maker?.metadata?.threadhook_round ?? "?"}, ${maker?.status ?? "?"})`,
    );
    if (!runId) continue;
    const run = (await api("GET", `/v1/runs/${runId}`).catch(() => null))?.body;
    console.log(`  run ${runId} ${run?.status} ${JSON.stringify(run?.last_error ?? null)}`);
    for (const t of (run?.timeline ?? []) as Json[]) console.log(`    ${t.status}: ${t.cause}`);
    for (const x of responses.filter((y) => y.metadata?.threadhook_run === runId))
      console.log(
        `  response ${x.id} round ${x.metadata?.threadhook_round} ${x.status} stream=${x.stream} background=${x.background} input ${JSON.stringify(((x.input ?? []) as Json[]).map((i) => i.call_id ?? i.type))} calls ${JSON.stringify(x.output_call_ids)}`,
      );
  }
}

/**
 * `--verbose`: for each run with more than one upstream response in a round, the Worker its lane
 * used (its drive strategy; a hand-off or the reconciler may drive it from another), its door, its
 * whole timeline, every response of the run as the OpenAI stand-in recorded it (round, create key,
 * status, created relative to the workload's start, stream/background, sent by the Worker or by
 * QStash's `call`, answer dropped), and the faults the stand-ins injected from 3 s before its first
 * response to 3 s after its last (those whose request names the run first, then up to 40 others).
 */
async function traceDuplicateResponses(
  runIds: string[],
  responses: Json[],
  api: (method: string, path: string) => Promise<{ status: number; body: Json }>,
  context: {
    accepted: { runId: string; n: number; lane: number; door: string }[];
    laneWorker: (lane: number) => string;
    workloadStart: number;
    faults: Record<string, { log: readonly { at_ms: number; kind: string; subject: string }[] }>;
  },
) {
  const t = (ms: number) => ms - context.workloadStart;
  for (const runId of runIds.slice(0, 10)) {
    const a = context.accepted.find((x) => x.runId === runId);
    const run = (await api("GET", `/v1/runs/${runId}`).catch(() => null))?.body;
    console.log(
      `duplicate responses: run ${runId} (n ${a?.n ?? "?"}, lane ${a?.lane ?? "?"}, ${a?.door ?? "?"} door, accepted by the ${a ? context.laneWorker(a.lane) : "?"} Worker) ${run?.status} ${JSON.stringify(run?.last_error ?? null)}`,
    );
    for (const e of (run?.timeline ?? []) as Json[])
      console.log(`    ${t(Date.parse(e.at))} ${e.status}: ${e.cause}`);
    const mine = responses
      .filter((x) => x.metadata?.threadhook_run === runId)
      .sort((x, y) => x.created_at_ms - y.created_at_ms);
    for (const x of mine)
      console.log(
        `  response ${x.id} round ${x.metadata?.threadhook_round} create ${x.metadata?.threadhook_create ?? "-"} ${x.status} created ${t(x.created_at_ms)} ended ${x.completed_at_ms ? t(x.completed_at_ms) : "-"} stream=${x.stream} background=${x.background} via=${x.via}${x.answer_dropped ? " ANSWER DROPPED" : ""} input ${JSON.stringify(((x.input ?? []) as Json[]).map((i) => i.call_id ?? i.type))} calls ${JSON.stringify(x.output_call_ids)}`,
      );
    const from = (mine[0]?.created_at_ms ?? 0) - 3_000;
    const to = (mine.at(-1)?.created_at_ms ?? 0) + 3_000;
    for (const [part, f] of Object.entries(context.faults)) {
      const near = f.log.filter((e) => e.at_ms >= from && e.at_ms <= to);
      if (near.length === 0) continue;
      const named = near.filter((e) => e.subject.includes(runId));
      const others = near.filter((e) => !e.subject.includes(runId));
      console.log(
        `  ${part} faults ${t(from)}..${t(to)}: ${named.length} naming the run, ${others.length} others`,
      );
      for (const e of [...named, ...others.slice(0, 40)])
        console.log(
          `    ${t(e.at_ms)} ${e.kind}${named.includes(e) ? " [this run]" : ""} ${e.subject.slice(0, 160)}`,
        );
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = Date.now();
  console.log(
    `soak: seed=${args.seed} runs=${args.runs} lanes=${args.lanes} faults=${args.faults ? "on" : "off"} strategies=${args.strategies.join(",")}`,
  );
  console.log(`soak: replay with npm run soak -- --seed ${args.seed} --runs ${args.runs}`);
  const mix = faultMix(args.quick);
  const stack = await startStack({
    ports: { redis: 0, qstash: 0, openai: 0, inbox: 0, slack: 0, discord: 0 },
    worker: false,
    timeScale: TIME_SCALE,
    openaiDelayMs: 3_000,
    faultSeed: args.seed,
    inboxMaxDeliveries: args.runs * 8 + 10_000,
  });
  const workers: { strategy: Strategy; handle: WorkerHandle }[] = [];
  const closeAll = async () => {
    for (const w of workers) await w.handle.close().catch(() => {});
    await stack.close();
  };
  const onSignal = (signal: string) => {
    console.error(`soak: ${signal}, stopping the stack…`);
    void closeAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const base = devWorkerVars(stack);
    const webhookSecret = stack.inbox.secret;
    const started = await Promise.all(
      args.strategies.map(async (strategy) => ({
        strategy,
        handle: await startWorker({
          port: 0,
          logLevel: workerLogs ? "log" : "none",
          vars: {
            ...base,
            DRIVE_STRATEGY: strategy,
            ...(strategy === "webhook" ? { OPENAI_WEBHOOK_SECRET: webhookSecret } : {}),
            LOG_LEVEL: workerLogs ?? "silent",
            DELIVERY_RETRIES: "3",
            DELIVERY_BACKOFF_S: "0.2,0.5,1",
            RATE_LIMIT_PER_MIN: "0",
            AUTH_FAILURES_PER_MIN: "0",
            MAX_ACTIVE_RUNS: "1000",
            // The reconciler's schedule, compressed like the stand-ins' time (see RECONCILE_EVERY_MS).
            RECONCILE_GRACE_S: String(RECONCILE_GRACE_S),
          },
        }),
      })),
    );
    workers.push(...started);
    const hooked = workers.find((w) => w.strategy === "webhook");
    if (hooked)
      stack.openai.setWebhook({ url: `${hooked.handle.url}/webhooks/openai`, secret: webhookSecret });
    const urls = workers.map((w) => w.handle.url);
    const qstash = new QStashClient({ baseUrl: stack.qstash.url, token: stack.qstash.token });
    const reconciler = setInterval(() => {
      qstash.publishJSON({ url: `${urls[0]}/internal/steps/reconcile`, body: {} }).catch(() => {});
    }, RECONCILE_EVERY_MS);
    stack.inbox.setBehaviour({ path: "/tools/lookup", body: { output: "42" } });

    const api = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
      worker = urls[0] as string,
    ) => {
      const res = await fetch(`${worker}${path}`, {
        method,
        headers: { authorization: `Bearer ${DEV_API_KEY}`, "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let json: Json = text;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: res.status, body: json };
    };
    /** Retries what a careful client retries: network errors, 429 and 5xx. */
    const patient = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
      worker?: string,
      attempts = 30,
    ) => {
      let last: { status: number; body: Json } = { status: 0, body: null };
      for (let i = 0; i < attempts; i++) {
        try {
          last = await api(method, path, body, headers, worker);
          if (last.status < 500 && last.status !== 429) return last;
        } catch (err) {
          last = { status: 0, body: String(err) };
        }
        await sleep(Math.min(2_000, 100 * (i + 1)));
      }
      return last;
    };

    const fn = {
      type: "function",
      function: { name: "lookup", parameters: { type: "object", properties: {} } },
    };
    const assistant = await patient("POST", "/v1/assistants", {
      model: "gpt-sim",
      instructions: "Soak.",
      tools: [{ ...fn, endpoint: { url: `${stack.inbox.url}/tools/lookup`, timeout_ms: 2_000 } }],
    });
    if (assistant.status !== 200)
      throw new Error(`assistant: ${assistant.status} ${JSON.stringify(assistant.body)}`);
    const assistantId = assistant.body.id as string;

    // The workload, a function of the seed.
    const draw = seededRandom(args.seed);
    const lanes = Array.from({ length: Math.max(1, args.lanes) }, (_, i) => ({
      index: i,
      door: (i % 3 === 2 ? "assistants" : "webhook") as Door,
      worker: urls[i % urls.length] as string,
      key: `soak-${args.seed}-lane-${i}`,
      threadId: "",
      plan: [] as Planned[],
    }));
    for (let n = 0; n < args.runs; n++) {
      const lane = lanes[n % lanes.length];
      if (!lane) continue;
      lane.plan.push({
        n,
        lane: lane.index,
        door: lane.door,
        tool: draw() < 0.25,
        delayMs: Math.floor(draw() * 20_000),
      });
    }
    for (const lane of lanes.filter((l) => l.door === "assistants")) {
      const t = await patient("POST", "/v1/threads", {}, {}, lane.worker);
      if (t.status !== 200) throw new Error(`thread: ${t.status} ${JSON.stringify(t.body)}`);
      lane.threadId = t.body.id;
    }

    if (args.faults) {
      for (const [part, rules] of Object.entries(mix)) {
        const target = stack[part as keyof typeof mix];
        target.faults.set(rules, args.seed);
      }
    }

    const workloadStart = Date.now();
    // The stand-ins (the inbox among them) share this process's event loop with the workload: a
    // stall here holds every callback the Workers send. Stalls over 1 s are listed (--verbose).
    const stalls: string[] = [];
    let tickAt = Date.now();
    const stallWatch = setInterval(() => {
      const now = Date.now();
      if (now - tickAt > 1_100) stalls.push(`${tickAt + 100 - workloadStart}+${now - tickAt - 100}ms`);
      tickAt = now;
    }, 100);
    const counts = { submitted: 0, accepted: 0, refused: 0, refusedCodes: {} as Record<string, number> };
    const accepted: Accepted[] = [];
    const finals = new Map<string, Final>();
    const lost: { n: number; runId: string; status: string; why: string }[] = [];
    const input = (p: Planned) => {
      const script: Record<string, unknown> = { delay_ms: p.delayMs };
      if (p.tool) script.tool_calls = [{ name: "lookup", arguments: { n: p.n } }];
      return `soak ${p.n} #sim ${JSON.stringify(script)}`;
    };
    // Webhook-door runs are watched through their callbacks (one scan of new inbox deliveries every
    // 250 ms wakes the waiter of that path); every run is also read now and then, which catches runs
    // whose callback failed and the Assistants door, which has no callbacks.
    const wakers = new Map<string, () => void>();
    let seenSeq = 0;
    let sinceMs = 0;
    const watcher = setInterval(() => {
      for (const d of stack.inbox.deliveries({ since: sinceMs })) {
        if (d.seq <= seenSeq) continue;
        seenSeq = d.seq;
        sinceMs = Math.max(sinceMs, d.received_at_ms);
        const type = String((d.body as { type?: unknown } | null)?.type ?? "");
        if (d.answered_status >= 200 && d.answered_status < 300 && TERMINAL.has(type.replace(/^run\./, "")))
          wakers.get(d.path)?.();
      }
    }, 250);
    const nap = (a: Accepted, ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wakers.delete(a.callbackPath);
          resolve();
        }
        if (a.door === "webhook") wakers.set(a.callbackPath, done);
      });
    const waitTerminal = async (a: Accepted, worker: string, deadline: number): Promise<Final | null> => {
      let wait = a.door === "webhook" ? 5_000 : 300;
      for (;;) {
        const r = await api("GET", `/v1/runs/${a.runId}`, undefined, {}, worker).catch(() => null);
        if (r?.status === 200 && TERMINAL.has(r.body.status))
          return { ...a, status: r.body.status, run: r.body };
        if (r?.status === 404) return { ...a, status: "missing", run: null };
        if (Date.now() > deadline) return null;
        await nap(a, wait);
        if (a.door === "assistants") wait = Math.min(1_500, wait * 1.5);
      }
    };
    const submit = async (lane: (typeof lanes)[number], p: Planned): Promise<Accepted | null> => {
      counts.submitted++;
      const callbackPath = `/soak/cb/${p.n}`;
      let res: { status: number; body: Json };
      if (lane.door === "webhook") {
        res = await patient(
          "POST",
          "/v1/messages",
          {
            assistant_id: assistantId,
            conversation: lane.key,
            input: input(p),
            callback_url: `${stack.inbox.url}${callbackPath}`,
          },
          { "idempotency-key": `soak-${args.seed}-${p.n}` },
          lane.worker,
        );
      } else {
        res = { status: 0, body: null };
        for (let i = 0; i < 30; i++) {
          try {
            res = await api(
              "POST",
              `/v1/threads/${lane.threadId}/runs`,
              { assistant_id: assistantId, additional_messages: [{ role: "user", content: input(p) }] },
              {},
              lane.worker,
            );
          } catch (err) {
            res = { status: 0, body: String(err) };
          }
          if (res.status === 200) break;
          if (res.status === 400 && /already has an active run/.test(JSON.stringify(res.body)) && i > 0) {
            // An earlier attempt created the run and its answer was lost: adopt it.
            const list = await patient(
              "GET",
              `/v1/threads/${lane.threadId}/runs?limit=1`,
              undefined,
              {},
              lane.worker,
            );
            const newest = list.body?.data?.[0];
            // Not a run accepted before (a lane whose thread is stuck would adopt that one again).
            if (newest && !accepted.some((a) => a.runId === newest.id)) {
              res = { status: 200, body: newest };
              break;
            }
          }
          // A 400 "already has an active run" may clear (the last run's answer was lost); not forever.
          if (res.status > 0 && res.status < 500 && res.status !== 429 && (res.status !== 400 || i >= 5))
            break;
          await sleep(Math.min(2_000, 100 * (i + 1)));
        }
      }
      const ok = lane.door === "webhook" ? res.status === 202 : res.status === 200;
      if (!ok) {
        if (verbose)
          console.error(`soak: run ${p.n} refused: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        counts.refused++;
        // The Assistants door's 400 for a thread whose last run is still going has no code of its own.
        const activeRun = res.status === 400 && /already has an active run/.test(JSON.stringify(res.body));
        const code = `${res.status} ${res.body?.error?.code ?? (activeRun ? "active_run" : "")}`.trim();
        counts.refusedCodes[code] = (counts.refusedCodes[code] ?? 0) + 1;
        return null;
      }
      counts.accepted++;
      const a = { ...p, runId: res.body.id as string, callbackPath, acceptedAt: Date.now() };
      accepted.push(a);
      return a;
    };

    // Webhook lanes keep up to 3 runs queued on their conversation; Assistants lanes run one at a time.
    const runDeadlineMs = 120_000;
    let done = 0;
    const progress = setInterval(() => {
      const s = ((Date.now() - startedAt) / 1000).toFixed(0);
      console.error(`soak: ${s}s accepted=${counts.accepted} finished=${done}/${args.runs}`);
    }, 15_000);
    await Promise.all(
      lanes.map(async (lane) => {
        const inflight: Promise<void>[] = [];
        const depth = lane.door === "webhook" ? 3 : 1;
        for (const p of lane.plan) {
          while (inflight.length >= depth) await inflight.shift();
          const a = await submit(lane, p);
          if (!a) {
            done++;
            continue;
          }
          inflight.push(
            (async () => {
              const f = await waitTerminal(a, lane.worker, Date.now() + runDeadlineMs);
              done++;
              if (verbose && !f) console.error(`soak: run ${a.n} ${a.runId} not terminal in time`);
              if (f) finals.set(a.runId, f);
            })(),
          );
        }
        await Promise.all(inflight);
      }),
    );
    clearInterval(progress);
    const workloadMs = Date.now() - workloadStart;

    // Faults off: what follows checks the end state, and must not be disturbed itself.
    const injected: Record<string, number> = {};
    for (const part of ["redis", "qstash", "openai", "inbox"] as const) {
      const target = stack[part];
      for (const [kind, n] of Object.entries(target.faults.state().injected)) injected[`${part}.${kind}`] = n;
      target.faults.set([]);
    }

    // Runs not terminal within their deadline get a last, longer chance now that faults are off.
    const lastChance = Date.now() + 30_000;
    await Promise.all(
      accepted
        .filter((a) => !finals.has(a.runId))
        .map(async (a) => {
          const f = await waitTerminal(a, urls[0] as string, lastChance);
          if (f) finals.set(a.runId, f);
          else {
            const r = await api("GET", `/v1/runs/${a.runId}`).catch(() => null);
            lost.push({
              n: a.n,
              runId: a.runId,
              status: r?.body?.status ?? "unknown",
              why: `not terminal (timeline ${timelineTail(r?.body)})`,
            });
          }
        }),
    );
    for (const f of finals.values())
      if (f.status === "missing")
        lost.push({ n: f.n, runId: f.runId, status: "missing", why: "run gone (404)" });

    // Callbacks: let deliveries settle, then count successful deliveries per event id.
    const webhookRuns = [...finals.values()].filter((f) => f.door === "webhook" && f.status !== "missing");
    const settleUntil = Date.now() + 60_000;
    const settle = async (f: Final) => {
      for (;;) {
        const r = await api("GET", `/v1/runs/${f.runId}`).catch(() => null);
        const state = r?.body?.delivery?.state;
        if (r?.status === 200) f.run = r.body;
        if (state === "delivered" || state === "failed" || Date.now() > settleUntil) break;
        await sleep(1_000);
      }
    };
    for (let i = 0; i < webhookRuns.length; i += 32)
      await Promise.all(webhookRuns.slice(i, i + 32).map(settle));
    const deliveries = stack.inbox.deliveries().filter((d) => d.path.startsWith("/soak/cb/"));
    const okById = new Map<string, number>();
    const okByPath = new Map<string, { type: string; id: string }[]>();
    for (const d of deliveries) {
      if (d.answered_status < 200 || d.answered_status >= 300 || !d.webhook_id) continue;
      okById.set(d.webhook_id, (okById.get(d.webhook_id) ?? 0) + 1);
      const list = okByPath.get(d.path) ?? [];
      list.push({ type: String((d.body as Json)?.type ?? ""), id: d.webhook_id });
      okByPath.set(d.path, list);
    }
    // A 2xx the Worker never saw (its attempt timed out first: the inbox answered after the sender
    // gave up) is counted apart as a late answer: threadhook cannot know of it, and sends the event
    // again under the same webhook-id, which a receiver dedupes by (Standard Webhooks). Every other
    // second 2xx is a duplicate: threadhook had the answer and sent the event again anyway.
    let duplicateCallbacks = 0;
    let lateCallbacks = 0;
    const duplicatedEvents: string[] = [];
    // Per duplicated event, every delivery of it (time since the workload began, answer, fault, how
    // long it took to reach the inbox) and its run's delivery attempts and timeline as the Worker
    // recorded them: the sends side by side (--verbose).
    const duplicateDetails: Json[] = [];
    for (const [id, n] of okById) {
      if (n <= 1) continue;
      const sends = deliveries.filter(
        (d) => d.webhook_id === id && d.answered_status >= 200 && d.answered_status < 300,
      );
      const runId = (sends[0]?.body as Json)?.data?.run?.id as string | undefined;
      const run = runId ? (await api("GET", `/v1/runs/${runId}`).catch(() => null))?.body : null;
      const attempts = (run?.delivery?.attempts ?? []) as Json[];
      // The starts (whole seconds, as signed in webhook-timestamp) of the attempts that timed out.
      const timedOut = attempts
        .filter((a) => String(a.error ?? "").startsWith("timeout"))
        .map((a) => Math.floor((a.at_ms - a.duration_ms) / 1000));
      // Late: it matches an attempt recorded as timed out, or it reached the inbox more than the
      // timeout after it was signed (the record of the attempt may be lost: a step that failed after).
      const signedS = (d: (typeof sends)[number]) => Number(d.headers["webhook-timestamp"] ?? 0);
      const late = (d: (typeof sends)[number]) =>
        timedOut.some((s) => Math.abs(s - signedS(d)) <= 1) ||
        d.received_at_ms - signedS(d) * 1000 >= DELIVERY_TIMEOUT_MS + 1_000;
      const lateHere = Math.min(n - 1, sends.filter(late).length);
      lateCallbacks += lateHere;
      duplicateCallbacks += n - 1 - lateHere;
      duplicatedEvents.push(
        `${id} ×${n}${lateHere ? ` (${lateHere} answered after the Worker's timeout)` : ""}`,
      );
      if (!verbose) continue;
      const t = (ms: number) => ms - workloadStart;
      duplicateDetails.push({
        event: id,
        type: (sends[0]?.body as Json)?.type,
        run: runId,
        // Each send with the last timeline entry of the run it carries (which state built it).
        sends: sends.map((d) => {
          const sent = ((d.body as Json)?.data?.run?.timeline ?? []) as Json[];
          const last = sent.at(-1);
          // Signed at the attempt's start (whole seconds): how long the request took to reach the inbox.
          const lagS = Math.round(d.received_at_ms / 1000) - Number(d.headers["webhook-timestamp"] ?? 0);
          return `${t(d.received_at_ms)} ${d.answered_status}${d.fault ? ` ${d.fault}` : ""} lag ~${lagS} s${late(d) ? " late" : ""} (${sent.length} entries, last ${last ? `${t(Date.parse(last.at))} ${last.cause}` : "-"})`;
        }),
        attempts: attempts.map((a) => `${t(a.at_ms)} ${a.status ?? a.error} ${a.duration_ms}ms`),
        timeline: ((run?.timeline ?? []) as Json[]).map(
          (e) => `${t(Date.parse(e.at))} ${e.status}: ${e.cause}`,
        ),
      });
    }
    let callbacksFailed = 0;
    for (const f of webhookRuns) {
      const got = (okByPath.get(f.callbackPath) ?? []).filter((e) => e.type === `run.${f.status}`);
      if (got.length > 0) continue;
      if (f.run?.delivery?.state === "failed") callbacksFailed++;
      else
        lost.push({
          n: f.n,
          runId: f.runId,
          status: f.status,
          why: `no run.${f.status} callback (delivery ${JSON.stringify(f.run?.delivery ?? null).slice(0, 300)}; timeline ${timelineTail(f.run)})`,
        });
    }
    // Two different event ids for one terminal event of a run is a duplicate too.
    for (const f of webhookRuns) {
      const ids = new Set(
        (okByPath.get(f.callbackPath) ?? []).filter((e) => e.type === `run.${f.status}`).map((e) => e.id),
      );
      if (ids.size <= 1) continue;
      duplicateCallbacks += ids.size - 1;
      duplicatedEvents.push(`${f.runId}: run.${f.status} under ${[...ids].join(", ")}`);
      if (!verbose) continue;
      // Each run that sent this caller's terminal event: how it came to be and how it went.
      for (const id of ids) {
        const other = `run_${id.replace(/^evt_/, "")}`;
        const r = (await api("GET", `/v1/runs/${other}`).catch(() => null))?.body;
        duplicateDetails.push({
          caller: f.n,
          run: other,
          accepted: other === f.runId,
          status: r?.status,
          created_at: r?.created_at,
          timeline: ((r?.timeline ?? []) as Json[]).map(
            (e) => `${Date.parse(e.at) - workloadStart} ${e.status}: ${e.cause}`,
          ),
        });
      }
    }

    // Upstream: at most one response per (run, round).
    const sim = (await (await fetch(`${stack.openai.url}/__sim/responses`)).json()) as { data: Json[] };
    const perRound = new Map<string, number>();
    let unowned = 0;
    for (const r of sim.data) {
      const run = r.metadata?.threadhook_run;
      const round = r.metadata?.threadhook_round;
      if (!run) {
        unowned++;
        continue;
      }
      const key = `${run}#${round ?? "?"}`;
      perRound.set(key, (perRound.get(key) ?? 0) + 1);
    }
    let duplicateResponses = 0;
    const duplicatedRuns = new Set<string>();
    for (const [key, n] of perRound)
      if (n > 1) {
        duplicateResponses += n - 1;
        duplicatedRuns.add(key.split("#")[0] ?? "");
      }

    // Stuck: threads or slots held by finished runs, conversations that cannot run again.
    const redis = new Redis({ url: stack.redis.url, token: stack.redis.token, enableAutoPipelining: false });
    const statusOf = async (runId: string) =>
      finals.get(runId)?.status ?? (await patient("GET", `/v1/runs/${runId}`)).body?.status ?? "unknown";
    const stuck: { what: string; id: string; run: string; status: string }[] = [];
    const scanAll = async (match: string) => {
      const found: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = await redis.scan(cursor, { match, count: 1000 });
        cursor = String(next);
        found.push(...(batch as string[]));
      } while (cursor !== "0");
      return found;
    };
    for (const key of await scanAll("th:*:thread:*:active")) {
      const runId = await redis.get<string>(key);
      if (!runId) continue;
      const status = await statusOf(runId);
      if (TERMINAL.has(status) || status === "missing")
        stuck.push({ what: "thread", id: key, run: runId, status });
    }
    for (const key of await scanAll("th:*:slots")) {
      for (const runId of (await redis.zrange(key, 0, -1)) as string[]) {
        const status = await statusOf(runId);
        if (TERMINAL.has(status) || status === "missing")
          stuck.push({ what: "slot", id: key, run: runId, status });
      }
    }
    // Every conversation is still usable: a follow-up run on each lane completes.
    const followUps = await Promise.all(
      lanes.map(async (lane) => {
        const p: Planned = {
          n: args.runs + lane.index,
          lane: lane.index,
          door: lane.door,
          tool: false,
          delayMs: 100,
        };
        const a = await submit(lane, p);
        const f = a ? await waitTerminal(a, lane.worker, Date.now() + 90_000) : null;
        return {
          lane: lane.index,
          door: lane.door,
          status: f?.status ?? (a ? "not terminal" : "refused"),
          error: f?.run?.last_error ?? null,
        };
      }),
    );
    for (const f of followUps)
      if (f.status !== "completed")
        stuck.push({
          what: "conversation",
          id: `lane ${f.lane} (${f.door})`,
          run: "follow-up",
          status: f.error ? `${f.status}: ${JSON.stringify(f.error).slice(0, 240)}` : f.status,
        });

    // Tokens: what the Worker counted against what the stand-in billed, both after the follow-ups
    // (like with like), once the Worker's count has settled (a run's tokens are counted at its
    // release, which may come a moment after its terminal status).
    const billed = (await (await fetch(`${stack.openai.url}/__sim/responses`)).json()) as { data: Json[] };
    const simTokens = { input: 0, output: 0 };
    for (const r of billed.data) {
      simTokens.input += r.usage?.input_tokens ?? 0;
      simTokens.output += r.usage?.output_tokens ?? 0;
    }
    let usage = await patient("GET", "/v1/usage");
    for (let settle = Date.now() + 15_000; Date.now() < settle; ) {
      if (usage.body?.input_tokens === simTokens.input && usage.body?.output_tokens === simTokens.output)
        break;
      await new Promise((r) => setTimeout(r, 500));
      usage = await patient("GET", "/v1/usage");
    }
    const workerTokens = { input: usage.body?.input_tokens ?? 0, output: usage.body?.output_tokens ?? 0 };
    // Run by run: each run's own usage against what the stand-in billed its responses. A run that
    // ended with a response it never saw (`upstream_outcome_unknown`, cancelled, expired) may count
    // less: the Worker reports those as `unknown_responses`, and the soak takes their tokens out of
    // the comparison (`unseen`). Every other difference is listed.
    const billedByRun = new Map<string, { input: number; output: number; responses: number }>();
    for (const r of billed.data) {
      const run = r.metadata?.threadhook_run;
      if (!run) continue;
      const b = billedByRun.get(run) ?? { input: 0, output: 0, responses: 0 };
      b.input += r.usage?.input_tokens ?? 0;
      b.output += r.usage?.output_tokens ?? 0;
      b.responses++;
      billedByRun.set(run, b);
    }
    const unseen = { input: 0, output: 0, runs: 0 };
    const shortEstimates = { input: 0, output: 0, runs: 0 };
    const tokenDiffs: Json[] = [];
    const tokensDiffer = workerTokens.input !== simTokens.input || workerTokens.output !== simTokens.output;
    if (tokensDiffer || verbose)
      for (const [runId, b] of billedByRun) {
        const got = await patient("GET", `/v1/runs/${runId}`);
        const r = got.body;
        const u = r?.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
        if (u.prompt_tokens === b.input && u.completion_tokens === b.output) continue;
        const code = r?.last_error?.code ?? null;
        if (
          got.status === 200 &&
          (code === "upstream_outcome_unknown" || r?.status === "cancelled" || r?.status === "expired") &&
          u.prompt_tokens <= b.input &&
          u.completion_tokens <= b.output
        ) {
          unseen.input += b.input - u.prompt_tokens;
          unseen.output += b.output - u.completion_tokens;
          unseen.runs++;
          continue;
        }
        // An estimated response (adopted from the conversation's items) whose conversation outgrew
        // the newest LOST_LOOKUP_ITEMS (100) items the look reads: its input is a lower bound, the
        // items before the window are not in it; its output is within the estimate's tolerance.
        if (
          got.status === 200 &&
          u.prompt_tokens < b.input &&
          Math.abs(u.completion_tokens - b.output) <= ESTIMATE_TOLERANCE * b.responses
        ) {
          shortEstimates.input += b.input - u.prompt_tokens;
          shortEstimates.output += b.output - u.completion_tokens;
          shortEstimates.runs++;
          continue;
        }
        tokenDiffs.push({
          run: runId,
          http: got.status,
          status: r?.status ?? r?.error?.code,
          error: code,
          worker: [u.prompt_tokens, u.completion_tokens],
          standIn: [b.input, b.output],
          responses: b.responses,
        });
      }
    // Runs that no longer exist first: responses made for a run intake withdrew after its step ran.
    tokenDiffs.sort((a, b) => Number(b.http === 404) - Number(a.http === 404));
    const withdrawn = tokenDiffs.filter((d) => d.http === 404).length;
    const estimatedResponses = Number(usage.body?.estimated_responses ?? 0);
    // Short estimates are allowed only for as many runs as the Worker says it estimated responses.
    const short =
      shortEstimates.runs <= estimatedResponses ? shortEstimates : { input: 0, output: 0, runs: 0 };
    const tokens = tokenCheck(
      workerTokens,
      {
        input: simTokens.input - unseen.input - short.input,
        output: simTokens.output - unseen.output - short.output,
      },
      estimatedResponses,
    );
    // Unseen tokens the Worker does not admit to (no unknown_responses) are a mismatch too.
    const unknownResponses = Number(usage.body?.unknown_responses ?? 0);
    if (unseen.runs > 0 && unknownResponses === 0) tokens.mismatch += unseen.input + unseen.output;

    clearInterval(watcher);
    clearInterval(stallWatch);
    clearInterval(reconciler);
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    for (const f of finals.values()) {
      statuses[f.status] = (statuses[f.status] ?? 0) + 1;
      const code = f.run?.last_error?.code;
      if (code) errors[code] = (errors[code] ?? 0) + 1;
    }
    const seconds = workloadMs / 1000;
    const table: [string, string | number][] = [
      ["seed", args.seed],
      [
        "runs planned / submitted / accepted",
        `${args.runs} / ${counts.submitted - lanes.length} / ${counts.accepted - followUps.filter((f) => f.status !== "refused").length}`,
      ],
      ["refused at intake (after retries)", `${counts.refused} ${JSON.stringify(counts.refusedCodes)}`],
      ["workload duration", `${seconds.toFixed(1)} s (${(args.runs / seconds).toFixed(1)} runs/s)`],
      ["drive strategies", args.strategies.join(", ")],
      [
        "doors",
        `webhook ${accepted.filter((a) => a.door === "webhook").length}, assistants ${accepted.filter((a) => a.door === "assistants").length}, with tool calls ${accepted.filter((a) => a.tool).length}`,
      ],
      ...Object.entries(injected)
        .sort()
        .map(([k, n]) => [`fault ${k}`, n] as [string, number]),
      ...Object.entries(statuses)
        .sort()
        .map(([k, n]) => [`terminal ${k}`, n] as [string, number]),
      ["last_error codes", JSON.stringify(errors)],
      ["callbacks delivered (2xx deliveries)", [...okById.values()].reduce((a, b) => a + b, 0)],
      ["callbacks marked failed after retries", callbacksFailed],
      ["upstream responses (unowned)", `${sim.data.length} (${unowned})`],
      [
        "tokens worker / stand-in (in, out)",
        `${workerTokens.input}/${simTokens.input}, ${workerTokens.output}/${simTokens.output}`,
      ],
      [
        "tokens: estimated responses, tolerance (in, out)",
        `${tokens.estimated}, ${tokens.tolerance.input}, ${tokens.tolerance.output}`,
      ],
      [
        "tokens: unknown responses (runs), their stand-in tokens (in, out)",
        `${unknownResponses} (${unseen.runs}), ${unseen.input}, ${unseen.output}`,
      ],
      [
        "tokens: estimates short of the stand-in (runs), tokens (in, out)",
        `${shortEstimates.runs}${short === shortEstimates ? "" : " (more runs than estimated responses: counted as a mismatch)"}, ${shortEstimates.input}, ${shortEstimates.output}`,
      ],
      ["tokens: runs that differ (of them gone: 404)", `${tokenDiffs.length} (${withdrawn})`],
      ["TOKEN MISMATCH (beyond the tolerance)", tokens.mismatch],
      ["LOST", lost.length],
      ["DUPLICATE terminal callbacks", duplicateCallbacks],
      ["late answers (2xx after the Worker's timeout)", lateCallbacks],
      ["DUPLICATE upstream responses", duplicateResponses],
      ["STUCK threads/slots/conversations", stuck.length],
    ];
    const width = Math.max(...table.map(([k]) => k.length));
    for (const [k, v] of table) console.log(`${k.padEnd(width)}  ${v}`);
    const show = <T>(label: string, items: T[]) => {
      if (items.length === 0) return;
      console.log(`${label} (${items.length}, first 20):`);
      for (const item of items.slice(0, 20)) console.log(`  ${JSON.stringify(item)}`);
    };
    show("lost runs", lost);
    show("stuck", stuck);
    show("runs with duplicate upstream responses", [...duplicatedRuns]);
    show("callback events answered 2xx more than once", duplicatedEvents);
    show("runs whose tokens differ from the stand-in's (worker / stand-in: [in, out])", tokenDiffs);
    if (verbose)
      await traceOpenCalls(
        [...finals.values()].map((f) => f.run),
        sim.data,
        api,
      );
    if (verbose)
      await traceDuplicateResponses([...duplicatedRuns], sim.data, api, {
        accepted,
        laneWorker: (i) => {
          const url = lanes[i]?.worker;
          return workers.find((w) => w.handle.url === url)?.strategy ?? "?";
        },
        workloadStart,
        faults: { openai: stack.openai.faults, qstash: stack.qstash.faults, redis: stack.redis.faults },
      });
    for (const d of duplicateDetails) console.log(`duplicate: ${JSON.stringify(d, null, 1)}`);
    if (verbose)
      show("soak process event-loop stalls over 1 s (at ms since the workload began + length)", stalls);
    if (tokens.mismatch > 0)
      console.log(
        `tokens: the Worker counted ${workerTokens.input - simTokens.input + unseen.input} input and ${workerTokens.output - simTokens.output + unseen.output} output tokens more than the stand-in billed for the responses it saw, beyond the tolerance`,
      );
    if (args.json)
      console.log(
        JSON.stringify({
          seed: args.seed,
          injected,
          statuses,
          lost,
          stuck,
          duplicateCallbacks,
          lateCallbacks,
          duplicateResponses,
          tokens: { worker: workerTokens, standIn: simTokens, unseen, unknownResponses, ...tokens },
        }),
      );
    console.log(
      `soak: runs=${args.runs} lost=${lost.length} duplicate_callbacks=${duplicateCallbacks} duplicate_responses=${duplicateResponses} stuck=${stuck.length} late_callbacks=${lateCallbacks} token_mismatch=${tokens.mismatch}`,
    );
    return lost.length + duplicateCallbacks + duplicateResponses + stuck.length + tokens.mismatch === 0
      ? 0
      : 1;
  } finally {
    await closeAll();
  }
}

/** Tokens (input, and output, each) an estimated response's count may be off by. */
const ESTIMATE_TOLERANCE = 10;

/**
 * The Worker's token count against the stand-in's. Exact when no response's usage was estimated;
 * with `estimated` responses (adopted from a conversation's items: engine/lost-create.ts) each count
 * may be off by ESTIMATE_TOLERANCE tokens per estimated response (the estimate uses the stand-in's
 * own ⌈characters / 4⌉ per item, so it is exact unless the conversation outgrew the 100 items the
 * look reads or the stand-in truncated it: such runs' input is a lower bound, taken out of the
 * comparison run by run as "short estimates", at most one run per estimated response).
 * `mismatch`: the tokens (input and output together) beyond that, 0 when within it.
 */
function tokenCheck(
  worker: { input: number; output: number },
  standIn: { input: number; output: number },
  estimated: number,
) {
  const allowed = ESTIMATE_TOLERANCE * estimated;
  const tolerance = { input: allowed, output: allowed };
  const beyond = (a: number, b: number, t: number) => Math.max(0, Math.abs(a - b) - t);
  const mismatch =
    beyond(worker.input, standIn.input, tolerance.input) +
    beyond(worker.output, standIn.output, tolerance.output);
  return { estimated, tolerance, mismatch };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(2);
  },
);
