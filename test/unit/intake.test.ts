/**
 * acceptRun (commands/intake.ts) with narrow fakes: no Redis, no QStash. The store's script is
 * scripted by its outcome; what is asserted is what intake does with each outcome.
 */
import { describe, expect, it } from "vitest";
import { acceptRun, type IntakeDeps, type IntakeRequest } from "../../src/commands/intake";
import type { RunRecord } from "../../src/engine/types";
import { ApiError } from "../../src/errors";
import type { AssistantRecord } from "../../src/store/records";
import type { CreateOutcome } from "../../src/store/runs";

const NOW = 1_800_000_000_000;

const assistant: AssistantRecord = {
  id: "asst_1",
  object: "assistant",
  created_at: 0,
  name: null,
  description: null,
  model: "gpt-sim",
  instructions: null,
  tools: [],
  tool_resources: {},
  metadata: {},
  temperature: 1,
  top_p: 1,
  response_format: "auto",
  reasoning_effort: null,
  tool_errors: "continue",
};

function fakes(
  outcomes: CreateOutcome[],
  opts: { publishFails?: boolean; held?: string[]; pendingMerge?: string } = {},
) {
  const calls: string[] = [];
  const published: unknown[] = [];
  const created: RunRecord[] = [];
  const deps: IntakeDeps = {
    assistants: { get: async (_t, id) => (id === assistant.id ? assistant : null) },
    threads: {
      get: async (_t, id) =>
        id === "thread_1"
          ? {
              id,
              object: "thread",
              created_at: 0,
              metadata: {},
              tool_resources: {},
              conversation: null,
              conversation_id: null,
            }
          : null,
      resolveConversation: async () => ({ threadId: "thread_new", created: true }),
      forgetConversation: async (_t, key) => {
        calls.push(`forget ${key}`);
        return true;
      },
      activeRun: async () => null,
    },
    runs: {
      create: async (run) => {
        created.push(run);
        calls.push("create");
        const next = outcomes.shift();
        if (!next) throw new Error("no scripted outcome left");
        return next;
      },
      get: async (_t, id) => {
        const run = created.find((r) => r.id === id);
        return run ? { run, seq: 0 } : null;
      },
      abandon: async () => {
        calls.push("abandon");
        return "withdrawn" as const;
      },
      pump: async (_tenant, start) => {
        calls.push("pump");
        await start("run_waiting");
      },
      published: async () => {},
      pendingMerge: async () => opts.pendingMerge ?? "",
      requestCancel: async (_t, id, flag = "1") => {
        calls.push(`cancel ${id} ${flag}`);
      },
      settleOwedCancel: async (_t, entry) => {
        calls.push(`settle ${entry}`);
      },
    },
    upstream: {
      cancelResponse: async (id: string) => {
        calls.push(`cancel response ${id}`);
        return {} as never;
      },
    },
    messages: {
      heldMessages: async () => [],
      docs: async (_t, thread, ids) => {
        calls.push(`docs ${ids.join(",")}`);
        return ids.map((id) => ({
          id,
          object: "thread.message",
          created_at: 0,
          thread_id: thread,
          role: "user",
          content: [{ type: "text", text: { value: `held ${id}`, annotations: [] } }],
          assistant_id: null,
          run_id: null,
          attachments: [],
          metadata: {},
          status: "completed",
          incomplete_details: null,
          completed_at: null,
          incomplete_at: null,
        })) as never;
      },
    },
    queue: {
      publish: async (msg, o) => {
        calls.push(`publish ${o.reason}`);
        if (opts.publishFails) throw new Error("qstash down");
        published.push(msg);
      },
    },
    files: { many: async () => [] },
    vectorStores: { many: async () => [] },
    now: () => NOW,
    config: { devDieAt: null, threadQueueMax: 20 },
  } as IntakeDeps;
  return { deps, calls, published, created };
}

const request = (extra: Partial<IntakeRequest> = {}): IntakeRequest => ({
  tenant: "t1",
  assistantId: assistant.id,
  thread: { kind: "conversation", key: "slack:1" },
  messages: [{ role: "user", content: "hello" }],
  overrides: {},
  callback: { url: "https://example.com/hook", headers: {} },
  timeoutS: 600,
  limits: { maxToolRounds: 10, requiresActionTimeoutS: 600 },
  idempotency: null,
  mode: "queue",
  ...extra,
});

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
};

describe("acceptRun", () => {
  it("a run whose thread and slot are free is written, then its first step (seq 0) is published", async () => {
    const f = fakes([{ kind: "start" }]);
    const { run, replayed, thread } = await acceptRun(f.deps, request());
    expect(replayed).toBe(false);
    expect(run.thread_id).toBe("thread_new");
    expect(thread?.id).toBe("thread_new");
    expect(f.calls).toEqual(["create", "publish start"]);
    expect(f.published).toEqual([{ tenant: "t1", run_id: run.id, seq: 0 }]);
    expect(run.input).toBe("hello");
  });

  it("a queued run publishes nothing: its thread's active run starts it", async () => {
    const f = fakes([{ kind: "queued", activeRunId: "run_a", dropped: [], interrupt: false }]);
    await acceptRun(f.deps, request());
    expect(f.calls).toEqual(["create"]);
  });

  it("latest: each superseded run is flagged before its step is published; nothing else is cancelled", async () => {
    const f = fakes([
      { kind: "queued", activeRunId: "run_a", dropped: ["run_q1", "run_q2"], interrupt: false },
    ]);
    const { run } = await acceptRun(f.deps, request({ onBusy: "latest" }));
    for (const id of ["run_q1", "run_q2"]) {
      const flagged = f.calls.indexOf(`cancel ${id} superseded:${run.id}`);
      expect(flagged).toBeGreaterThan(0);
      expect(f.published).toContainEqual({ tenant: "t1", run_id: id, seq: 0 });
    }
    expect(f.calls.filter((c) => c.startsWith("cancel run_a"))).toEqual([]);
  });

  it("interrupt: the active run is cancelled like the cancel endpoint does (flag, upstream, step at its seq)", async () => {
    const f = fakes([{ kind: "queued", activeRunId: "run_a", dropped: [], interrupt: true }]);
    // The active run as stored: a live upstream response, at seq 4.
    f.deps.runs.get = async (_t, id) => {
      const base = f.created[0] as RunRecord;
      return id === "run_a"
        ? { run: { ...base, id, upstream: { ...base.upstream, response_id: "resp_1" } }, seq: 4 }
        : null;
    };
    await acceptRun(f.deps, request({ onBusy: "interrupt" }));
    expect(f.calls).toContain("cancel run_a 1");
    expect(f.calls).toContain("cancel response resp_1");
    expect(f.published).toContainEqual({ tenant: "t1", run_id: "run_a", seq: 4 });
  });

  it("merge: joining the pending run answers that run; a moved pointer is read again", async () => {
    const f = fakes([
      { kind: "merge_moved", pending: "run_m" },
      { kind: "merged", runId: "run_m" },
    ]);
    const existing = { id: "run_m" } as RunRecord;
    f.deps.runs.get = async (_t, id) => (id === "run_m" ? { run: existing, seq: 0 } : null);
    const { run } = await acceptRun(f.deps, request({ onBusy: "merge" }));
    expect(run).toBe(existing);
    expect(f.calls).toEqual(["create", "create"]);
  });

  it("reject and a full queue are 409 thread_busy and 429 thread_queue_full", async () => {
    const busy = await refusal(acceptRun(fakes([{ kind: "reject", activeRunId: "run_a" }]).deps, request()));
    expect([busy.status, busy.code]).toEqual([409, "thread_busy"]);
    expect(busy.message).toContain("run_a");
    const full = await refusal(acceptRun(fakes([{ kind: "full", max: 20 }]).deps, request()));
    expect([full.status, full.code]).toEqual([429, "thread_queue_full"]);
  });

  it("debounce_ms with a policy it does not go with is a 400, before anything is written", async () => {
    const f = fakes([]);
    const err = await refusal(acceptRun(f.deps, request({ onBusy: "reject", debounceMs: 500 })));
    expect([err.status, err.code, err.param]).toEqual([400, "invalid_debounce", "debounce_ms"]);
    expect(f.calls.filter((c) => c === "create")).toEqual([]);
  });

  it("a debounced start is published with the debounce as its QStash delay", async () => {
    const f = fakes([{ kind: "start" }]);
    const delays: number[] = [];
    const publish = f.deps.queue.publish;
    f.deps.queue.publish = async (msg, o) => {
      delays.push(o.delayMs);
      return publish(msg, o);
    };
    const { run } = await acceptRun(f.deps, request({ debounceMs: 1500 }));
    expect(delays).toEqual([1500]);
    expect(run.debounce_ms).toBe(1500);
  });

  it("a waiting run that finds a free slot hands it on (pump) instead of waiting forever", async () => {
    const f = fakes([{ kind: "waiting", pump: true }]);
    await acceptRun(f.deps, request());
    expect(f.calls).toEqual(["create", "pump", "publish start"]);
  });

  it("a hand-off refused after the run's own start was published does not withdraw the run (its step may have run)", async () => {
    const f = fakes([{ kind: "waiting", pump: true }]);
    f.deps.runs.pump = async (_tenant, start) => {
      f.calls.push("pump");
      await start(f.created[0]?.id as string); // this run: its step may run at once
      await start("run_other"); // the next free slot's run: QStash refuses
    };
    const publish = f.deps.queue.publish;
    f.deps.queue.publish = async (msg, o) => {
      if (msg.run_id === "run_other") throw new Error("qstash down");
      return publish(msg, o);
    };
    const { run } = await acceptRun(f.deps, request());
    expect(run.id).toBe(f.created[0]?.id);
    expect(f.calls).not.toContain("abandon");
    // Its own start refused: withdrawn, as before.
    const g = fakes([{ kind: "waiting", pump: true }]);
    g.deps.runs.pump = async (_tenant, start) => {
      await start(g.created[0]?.id as string);
    };
    g.deps.queue.publish = async () => {
      throw new Error("qstash down");
    };
    await refusal(acceptRun(g.deps, request()));
    expect(g.calls).toContain("abandon");
  });

  it("an unknown assistant is a 404, and a conversation key this request mapped is forgotten", async () => {
    const f = fakes([]);
    const err = await refusal(acceptRun(f.deps, request({ assistantId: "asst_other" })));
    expect([err.status, err.code]).toEqual([404, "assistant_not_found"]);
    expect(f.calls).toEqual(["forget slack:1"]);
  });

  it("an assistant outside the key's scope is a 403, after the lookup", async () => {
    const f = fakes([]);
    const err = await refusal(acceptRun(f.deps, request({ allowedAssistants: ["asst_9"] })));
    expect([err.status, err.code]).toEqual([403, "assistant_not_allowed"]);
  });

  it("a retry with the same idempotency key and body replays the first run; another body is a 409", async () => {
    const first = fakes([{ kind: "start" }]);
    const { run } = await acceptRun(first.deps, request());
    const idempotency = { key: "k", bodyHash: "h1" };
    const again = await acceptRun(
      {
        ...first.deps,
        runs: {
          ...first.deps.runs,
          create: async () => ({ kind: "duplicate", runId: run.id, bodyHash: "h1" }),
        },
      },
      request({ idempotency }),
    );
    expect(again).toMatchObject({ replayed: true, run: { id: run.id } });
    const err = await refusal(
      acceptRun(
        {
          ...first.deps,
          runs: {
            ...first.deps.runs,
            create: async () => ({ kind: "duplicate", runId: run.id, bodyHash: "h2" }),
          },
        },
        request({ idempotency }),
      ),
    );
    expect([err.status, err.code]).toEqual([409, "idempotency_key_reused"]);
  });

  it("a retry while the first request still publishes the run's step is a 409 with Retry-After, not a 202", async () => {
    // Issue 13, finding 2: that publish may yet fail and withdraw the run the 202 would name.
    const first = fakes([{ kind: "start" }]);
    const { run } = await acceptRun(first.deps, request());
    const err = await refusal(
      acceptRun(
        {
          ...first.deps,
          runs: {
            ...first.deps.runs,
            create: async () => ({ kind: "duplicate", runId: run.id, bodyHash: "h1" }),
            get: async () => ({ run, seq: 0, publishing: true }),
          },
        },
        request({ idempotency: { key: "k", bodyHash: "h1" } }),
      ),
    );
    expect([err.status, err.code, err.headers]).toEqual([409, "request_in_progress", { "Retry-After": "1" }]);
  });

  it("once its step is published, the run is marked so (replays may answer 202 from then on)", async () => {
    const f = fakes([{ kind: "start" }]);
    const marked: string[] = [];
    const { run } = await acceptRun(
      { ...f.deps, runs: { ...f.deps.runs, published: async (_t, id) => void marked.push(id) } },
      request({ idempotency: { key: "k1", bodyHash: "h" } }),
    );
    expect(marked).toEqual([run.id]);
  });

  it("a run nothing can replay or merge into is not marked: the mark costs a Redis request", async () => {
    for (const mode of ["queue", "merge"] as const) {
      const f = fakes([{ kind: "start" }]);
      const marked: string[] = [];
      const { run } = await acceptRun(
        { ...f.deps, runs: { ...f.deps.runs, published: async (_t, id) => void marked.push(id) } },
        request({ mode }),
      );
      // Only a merge into the run reads the mark without an Idempotency-Key.
      expect(marked).toEqual(mode === "merge" ? [run.id] : []);
    }
  });

  it("held messages that changed meanwhile are re-read and the run rebuilt, a bounded number of times", async () => {
    const ok = fakes([{ kind: "held", ids: ["msg_a"] }, { kind: "start" }]);
    const { run } = await acceptRun(ok.deps, request());
    expect(ok.calls).toEqual(["create", "docs msg_a", "create", "publish start"]);
    expect(JSON.stringify(run.input)).toContain("held msg_a");
    const busy = fakes(Array.from({ length: 4 }, () => ({ kind: "held" as const, ids: ["msg_a"] })));
    const err = await refusal(acceptRun(busy.deps, request()));
    expect([err.status, err.code]).toEqual([409, "thread_busy"]);
    expect(busy.calls.filter((c) => c === "create")).toHaveLength(4);
  });

  it("an exhausted quota is a 429 with Retry-After until the month ends", async () => {
    const f = fakes([{ kind: "quota", quota: "runs", limit: 5 }]);
    const err = await refusal(acceptRun(f.deps, request()));
    expect([err.status, err.code]).toEqual([429, "quota_exceeded"]);
    expect(Number(err.headers?.["Retry-After"])).toBeGreaterThan(0);
  });

  it("a busy thread in exclusive mode is the Assistants API's 400", async () => {
    const f = fakes([{ kind: "busy", activeRunId: "run_active" }]);
    const err = await refusal(acceptRun(f.deps, request({ mode: "exclusive" })));
    expect([err.status, err.code, err.param]).toEqual([400, null, null]);
    expect(err.message).toMatch(/^Thread thread_\w+ already has an active run run_active\.$/);
  });

  it("a first step that cannot be published withdraws the run and answers 503: nothing was accepted", async () => {
    const f = fakes([{ kind: "start" }], { publishFails: true });
    const err = await refusal(acceptRun(f.deps, request()));
    expect([err.status, err.code]).toEqual([503, "queue_unavailable"]);
    expect(f.calls).toEqual(["create", "publish start", "abandon"]);
  });
});
