/** Messages, threads and tenants against the Upstash REST stand-in: the scripts beside the run ones. */
import { describe, expect, it } from "vitest";
import { THREAD_TTL_S } from "../../src/engine/constants";
import { newId } from "../../src/store/ids";
import { keys } from "../../src/store/keys";
import { MessageStore } from "../../src/store/messages";
import { ThreadStore } from "../../src/store/records";
import { RunStore } from "../../src/store/runs";
import { TenantStore } from "../../src/store/tenants";
import { useStoreRedis } from "../support/redis-rest";
import { defaults, inspect, makeMessage, makeRun, makeThread, starter, TENANT } from "./fixtures";

const ctx = useStoreRedis();

describe("messages", () => {
  it("deleting a message a run carried says which run and where; a held one leaves the held list", async () => {
    const messages = new MessageStore(ctx.redis);
    const runs = new RunStore(ctx.redis, defaults());
    const thread = makeThread();
    const sent = makeMessage(thread.id, "sent");
    const run = makeRun(thread.id);
    await runs.create(run, null, { mode: "queue", expectedHeld: [], newMessages: [sent], thread });
    await runs.releaseThread(run, null, starter().start);
    const held = makeMessage(thread.id, "held");
    await messages.add(TENANT, thread.id, [held]);

    expect(await messages.delete(TENANT, thread.id, sent.id)).toEqual({
      kind: "deleted",
      sentBy: { runId: run.id, index: 0 },
    });
    expect(await messages.delete(TENANT, thread.id, held.id)).toEqual({ kind: "deleted", sentBy: null });
    expect(await messages.delete(TENANT, thread.id, held.id)).toEqual({ kind: "missing" });
    const state = inspect(ctx.redis);
    expect(await state.messageIds(thread.id)).toEqual([]);
    expect(await state.held(thread.id)).toEqual([]);
    expect(await messages.sentBy(TENANT, thread.id, sent.id)).toBeNull();
  });
});

describe("threads", () => {
  it("a busy thread is not deleted; an idle one goes with everything under it and its conversation key", async () => {
    const threads = new ThreadStore(ctx.redis);
    const runs = new RunStore(ctx.redis, defaults());
    const thread = { ...makeThread(), conversation: "slack:T1:C2" };
    const { threadId } = await threads.resolveConversation(TENANT, "slack:T1:C2", thread.id);
    expect(threadId).toBe(thread.id);
    const run = makeRun(thread.id);
    await runs.create(run, null, {
      mode: "queue",
      expectedHeld: [],
      newMessages: [makeMessage(thread.id, "hi")],
      thread,
    });
    await threads.setConversationId(TENANT, thread.id, "conv_1");
    expect(await threads.delete(TENANT, thread)).toEqual({ kind: "busy", activeRunId: run.id });
    await runs.releaseThread(run, null, starter().start);

    expect(await threads.delete(TENANT, thread)).toEqual({ kind: "deleted", conversationId: "conv_1" });
    expect(await threads.delete(TENANT, thread)).toEqual({ kind: "missing" });
    expect(await threads.conversationThread(TENANT, "slack:T1:C2")).toBeNull();
    for (const key of [
      keys.thread(TENANT, thread.id),
      keys.threadMessages(TENANT, thread.id),
      keys.threadMessageDocs(TENANT, thread.id),
      keys.threadSent(TENANT, thread.id),
      keys.threadRuns(TENANT, thread.id),
    ])
      expect(await ctx.redis.exists(key)).toBe(0);
  });

  it("a conversation key remapped to another thread is left alone when the old thread goes", async () => {
    const threads = new ThreadStore(ctx.redis);
    const old = { ...makeThread(), conversation: "key-1" };
    await threads.put(TENANT, old);
    const other = newId("thread");
    await ctx.redis.set(keys.conversation(TENANT, "key-1"), other);
    expect((await threads.delete(TENANT, old)).kind).toBe("deleted");
    expect(await threads.conversationThread(TENANT, "key-1")).toBe(other);
  });
});

describe("messages of a run that ended before its input joined the conversation", () => {
  it("go back to the thread's held list, first and in order, and the next run to start takes them", async () => {
    const messages = new MessageStore(ctx.redis);
    const runs = new RunStore(ctx.redis, defaults());
    const thread = makeThread();
    const [a, b] = [makeMessage(thread.id, "a"), makeMessage(thread.id, "b")];
    const failed = makeRun(thread.id);
    await runs.create(failed, null, { mode: "queue", expectedHeld: [], newMessages: [a, b], thread });
    const next = makeRun(thread.id);
    const c = makeMessage(thread.id, "c");
    await runs.create(next, null, { mode: "queue", expectedHeld: [], newMessages: [c], thread: null });
    expect(await messages.sentBy(TENANT, thread.id, c.id)).toEqual({ runId: next.id, index: 0 });

    expect(await messages.giveBack(TENANT, thread.id, failed.id)).toBe(2);
    expect(await messages.giveBack(TENANT, thread.id, failed.id)).toBe(0);
    expect(await inspect(ctx.redis).held(thread.id)).toEqual([a.id, b.id]);
    // Given back after a later run's messages, they still come in thread order.
    const later = makeRun(thread.id);
    await ctx.redis.hset(keys.threadSent(TENANT, thread.id), { [c.id]: `${later.id} 0` });
    expect(await messages.giveBack(TENANT, thread.id, later.id)).toBe(1);
    expect(await inspect(ctx.redis).held(thread.id)).toEqual([a.id, b.id, c.id]);
    await ctx.redis.lrem(keys.threadHeld(TENANT, thread.id), 0, c.id);
    await ctx.redis.hset(keys.threadSent(TENANT, thread.id), { [c.id]: `${next.id} 0` });
    expect(await messages.sentBy(TENANT, thread.id, a.id)).toBeNull();

    const heldIds = async (runId: string) => {
      const taken = await messages.takeHeld(TENANT, thread.id, runId);
      return taken.kind === "taken" ? taken.held.map((m) => m.id) : taken;
    };
    expect(await heldIds(next.id)).toEqual([a.id, b.id]);
    // A repeat of the step gets the same messages; the list is empty; positions follow the input.
    expect(await heldIds(next.id)).toEqual([a.id, b.id]);
    expect(await inspect(ctx.redis).held(thread.id)).toEqual([]);
    expect(await messages.sentBy(TENANT, thread.id, a.id)).toEqual({ runId: next.id, index: 0 });
    expect(await messages.sentBy(TENANT, thread.id, b.id)).toEqual({ runId: next.id, index: 1 });
    expect(await messages.sentBy(TENANT, thread.id, c.id)).toEqual({ runId: next.id, index: 2 });
    // A run that finds nothing held takes nothing.
    expect(await heldIds(makeRun(thread.id).id)).toEqual([]);
  });
});

describe("conversation keys", () => {
  it("slide: each use maps the key for THREAD_TTL_S again, and the mapping says when it expires", async () => {
    const threads = new ThreadStore(ctx.redis);
    const key = `slide:${newId("thread")}`;
    const first = await threads.resolveConversation(TENANT, key, newId("thread"));
    expect(first.created).toBe(true);
    // 89 days later (the key has a day left), the thread is used again.
    await ctx.redis.expire(keys.conversation(TENANT, key), 86_400);
    const again = await threads.resolveConversation(TENANT, key, newId("thread"));
    expect(again).toEqual({ threadId: first.threadId, created: false });
    const ttl = await ctx.redis.ttl(keys.conversation(TENANT, key));
    expect(ttl).toBeGreaterThan(THREAD_TTL_S - 60);
    expect(ttl).toBeLessThanOrEqual(THREAD_TTL_S);
    const mapped = await threads.conversationMapping(TENANT, key);
    expect(mapped?.threadId).toBe(first.threadId);
    const nowS = Math.floor(Date.now() / 1000);
    expect(mapped?.expiresAtS).toBeGreaterThan(nowS + THREAD_TTL_S - 60);
    expect(mapped?.expiresAtS).toBeLessThanOrEqual(nowS + THREAD_TTL_S + 1);
    // The same second on every read (now + TTL would move across a second's edge).
    for (let i = 0; i < 20; i++)
      expect((await threads.conversationMapping(TENANT, key))?.expiresAtS).toBe(mapped?.expiresAtS);
    expect(await threads.conversationMapping(TENANT, `${key}:none`)).toBeNull();
  });
});

describe("tenants", () => {
  it("a tenant is created once, with its limits as plain fields, and listed", async () => {
    const tenants = new TenantStore(ctx.redis);
    const record = {
      id: "t_once",
      object: "tenant" as const,
      name: "Once",
      created_at: 1,
      limits: { max_active_runs: 3, monthly_runs: null, monthly_tokens: 500 },
    };
    expect(await tenants.create(record, [], 1000)).toBe(true);
    expect(await tenants.create({ ...record, name: "Twice" }, [], 2000)).toBe(false);
    expect(await tenants.get("t_once")).toEqual(record);
    expect(
      await ctx.redis.hmget(keys.tenant("t_once"), "max_active_runs", "monthly_runs", "monthly_tokens"),
    ).toEqual(["3", "", "500"]);
    expect((await tenants.list({ limit: 10, order: "asc" })).data.map((t) => t.id)).toEqual(["t_once"]);
  });
});
