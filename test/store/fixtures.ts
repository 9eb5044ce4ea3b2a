/** Records for the store tests: runs, messages and threads as the commands build them. */
import type { Config } from "../../src/config";
import { type MessageRecord, newMessage } from "../../src/engine/messages";
import type { RunRecord } from "../../src/engine/types";
import { newId } from "../../src/store/ids";
import { keys } from "../../src/store/keys";
import type { ThreadRecord } from "../../src/store/records";
import type { Redis } from "../../src/store/redis";
import { plainRun, runInput } from "../support/run-fixtures";

export const TENANT = "t_store";
export const MODEL = "gpt-sim";

export const defaults = (over: Partial<Config["tenantDefaults"]> = {}): Config["tenantDefaults"] => ({
  maxActiveRuns: 10,
  monthlyRuns: 0,
  monthlyTokens: 0,
  ...over,
});

export function makeRun(threadId: string, opts: { now?: number; tenant?: string; model?: string } = {}) {
  const now = opts.now ?? Date.now();
  return plainRun({
    id: newId("run"),
    tenant: opts.tenant ?? TENANT,
    threadId,
    assistant: { ...runInput().assistant, id: "asst_store", model: opts.model ?? MODEL },
    limits: { maxToolRounds: 4, requiresActionTimeoutS: 600 },
    input: "hello",
    now,
  });
}

export const makeMessage = (threadId: string, text: string, role: "user" | "assistant" = "user") =>
  newMessage({ id: newId("msg"), threadId, role, content: text, nowMs: Date.now() });

export const makeThread = (id: string = newId("thread")): ThreadRecord => ({
  id,
  object: "thread",
  created_at: Math.floor(Date.now() / 1000),
  metadata: {},
  tool_resources: {},
  conversation: null,
});

/** A run's answer as the steps record it (MessageRecord of the assistant). */
export const answerOf = (run: RunRecord, text: string): MessageRecord => ({
  ...makeMessage(run.thread_id, text, "assistant"),
  run_id: run.id,
});

/** Raw views of the Redis state the scripts maintain, to assert on. */
export function inspect(redis: Redis, tenant = TENANT) {
  return {
    active: (thread: string) => redis.get<string>(keys.threadActive(tenant, thread)),
    queue: (thread: string) => redis.lrange(keys.threadQueue(tenant, thread), 0, -1),
    held: (thread: string) => redis.lrange(keys.threadHeld(tenant, thread), 0, -1),
    messageIds: (thread: string) => redis.zrange<string[]>(keys.threadMessages(tenant, thread), 0, -1),
    threadRuns: (thread: string) => redis.zrange<string[]>(keys.threadRuns(tenant, thread), 0, -1),
    slots: () => redis.zrange<string[]>(keys.activeSlots(tenant), 0, -1),
    slotQueue: () => redis.lrange(keys.slotQueue(tenant), 0, -1),
    exists: (key: string) => redis.exists(key),
  };
}

/** Collects the runs a release asks to start, in order. */
export function starter() {
  const started: string[] = [];
  const start = async (id: string) => {
    started.push(id);
  };
  return { started, start };
}
