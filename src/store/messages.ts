/**
 * Thread messages in Redis: ids in a sorted set scored by a per-thread sequence (so order is exact
 * even within one millisecond), documents in a hash, the held list (messages waiting for the next
 * run) and the sent index (which run carried a message upstream, at which input position).
 */
import { MAX_HELD_MESSAGES } from "../engine/bounds";
import { THREAD_TTL_S } from "../engine/constants";
import type { MessageRecord } from "../engine/messages";
import { monthOf } from "../engine/usage";
import { keys } from "./keys";
import { type ListPage, type ListParams, pageIds, pageOf, toPage } from "./list";
import { parseJson, type Redis } from "./redis";
import { type StoredThread, threadOf } from "./records";
import { addMessages, closeMerge, deleteMessage, returnMessages, takeHeld } from "./scripts";
import { tokenQuotaOf } from "./usage";

/** takeHeld's reading fields before the documents (scripts.ts takeHeld). */
const READING_FIELDS = 7;

export type AddOutcome =
  | { kind: "ok" }
  | { kind: "busy"; activeRunId: string }
  | { kind: "missing" }
  | { kind: "full"; max: number };
/** What a starting run takes (MessageStore.takeHeld), or how long its thread is not quiet yet. */
export type TakenHeld =
  | { kind: "wait"; waitMs: number }
  | {
      kind: "taken";
      held: MessageRecord[];
      merged: MessageRecord[];
      fanout: { url: string; headers: Record<string, string> }[];
      /** With `reading`: what the run's next actions need, read in the same request. */
      read?: StartReading;
    };

/**
 * What a starting run's next actions read (takeHeld with `reading`): the step's lease as extended
 * (null: `owner` does not hold it), the tenant's token quota if reached (null: not), the thread.
 */
export interface StartReading {
  leaseUntil: number | null;
  tokenQuota: number | null;
  thread: StoredThread | null;
}

/** Ask takeHeld to read for the start too, and extend `owner`'s lease to `leaseUntil` (ms). */
export interface ReadingRequest {
  owner: string;
  leaseUntil: number;
  /** The month (`YYYY-MM`) whose tokens count, and the quota of tenants without their own. */
  month: string;
  defaultMonthlyTokens: number;
}
export type DeleteOutcome =
  | { kind: "missing" }
  | { kind: "deleted"; sentBy: { runId: string; index: number } | null };

/** `[id, doc, id, doc, …]`: the `messages` rest arguments of the scripts that add messages. */
export const messageArgs = (messages: MessageRecord[]) => messages.flatMap((m) => [m.id, JSON.stringify(m)]);

export class MessageStore {
  private readonly redis: Redis;
  private readonly scripts;

  constructor(redis: Redis) {
    this.redis = redis;
    this.scripts = {
      add: addMessages.bind<string[]>(redis),
      delete: deleteMessage.bind<string[]>(redis),
      return: returnMessages.bind<number>(redis),
      take: takeHeld.bind<string[]>(redis),
      closeMerge: closeMerge.bind<string>(redis),
    };
  }

  /** Add messages to an idle thread (they become the next run's input). */
  async add(tenant: string, threadId: string, messages: MessageRecord[]): Promise<AddOutcome> {
    const [kind, active = ""] = await this.scripts.add.exec({
      keys: {
        threadActive: keys.threadActive(tenant, threadId),
        thread: keys.thread(tenant, threadId),
        threadMessages: keys.threadMessages(tenant, threadId),
        messageDocs: keys.threadMessageDocs(tenant, threadId),
        held: keys.threadHeld(tenant, threadId),
      },
      args: { threadTtlS: THREAD_TTL_S, maxHeld: MAX_HELD_MESSAGES },
      rest: messageArgs(messages),
    });
    if (kind === "busy") return { kind, activeRunId: active };
    if (kind === "full") return { kind, max: MAX_HELD_MESSAGES };
    return { kind: kind === "missing" ? "missing" : "ok" };
  }

  /**
   * A run ended before its input joined the conversation: the messages it carried are held again,
   * first, for the thread's next run. Returns how many.
   */
  async giveBack(tenant: string, threadId: string, runId: string): Promise<number> {
    return Number(
      await this.scripts.return.exec({
        keys: {
          sent: keys.threadSent(tenant, threadId),
          held: keys.threadHeld(tenant, threadId),
          threadMessages: keys.threadMessages(tenant, threadId),
        },
        args: { runId, threadTtlS: THREAD_TTL_S },
      }),
    );
  }

  /**
   * A run starts: the messages held on its thread (given back by an earlier run, or left by runs a
   * newer one superseded) are its now, and so are messages merged into it (`on_busy: merge`) with
   * their callers' callbacks. A debounced run whose thread is not quiet yet gets `waitMs` instead.
   */
  async takeHeld(
    tenant: string,
    threadId: string,
    runId: string,
    opts: { now: number; debounce: boolean; reading?: ReadingRequest } = { now: 0, debounce: false },
  ): Promise<TakenHeld> {
    const r = opts.reading;
    const reply = (
      await this.scripts.take.exec({
        keys: {
          run: keys.run(tenant, runId),
          held: keys.threadHeld(tenant, threadId),
          messageDocs: keys.threadMessageDocs(tenant, threadId),
          sent: keys.threadSent(tenant, threadId),
          thread: keys.thread(tenant, threadId),
          tenant: keys.tenant(tenant),
          usage: keys.usage(tenant, r?.month ?? monthOf(opts.now)),
        },
        args: {
          runId,
          now: opts.now,
          debounce: opts.debounce ? "1" : "0",
          read: r ? "1" : "0",
          owner: r?.owner ?? "",
          leaseUntil: r?.leaseUntil ?? 0,
        },
      })
    ).map(String);
    if (reply[0] === "wait") return { kind: "wait", waitMs: Number(reply[1]) };
    const heldCount = Number(reply[1]);
    const fanout = parseFanout(reply[2] ?? "");
    const [leased = "", own = "", input = "", output = "", threadDoc = "", conversation = "", files = ""] =
      reply.slice(3, 3 + READING_FIELDS);
    const docs = reply.slice(3 + READING_FIELDS).map((d) => parseJson<MessageRecord>(d));
    const taken: TakenHeld = {
      kind: "taken",
      held: docs.slice(0, heldCount).filter((m) => m !== null),
      merged: docs.slice(heldCount).filter((m) => m !== null),
      fanout,
    };
    if (!r) return taken;
    return {
      ...taken,
      read: {
        leaseUntil: leased === "" ? null : Number(leased),
        tokenQuota: tokenQuotaOf(own, input, output, r.defaultMonthlyTokens),
        thread: threadOf(threadDoc, conversation, files),
      },
    };
  }

  /**
   * A merge run ended before it started: it takes no more merges, and its merged callers' callbacks
   * are read (their messages are the run's and go back to the thread with its own).
   */
  async closeMerge(
    tenant: string,
    runId: string,
  ): Promise<{ url: string; headers: Record<string, string> }[]> {
    const reply =
      (await this.scripts.closeMerge.exec({ keys: { run: keys.run(tenant, runId) }, args: {} })) ?? "";
    return parseFanout(String(reply));
  }

  async get(tenant: string, threadId: string, id: string): Promise<MessageRecord | null> {
    return parseJson<MessageRecord>(await this.redis.hget(keys.threadMessageDocs(tenant, threadId), id));
  }

  /** Messages waiting for the next run, in order. */
  async heldMessages(tenant: string, threadId: string): Promise<MessageRecord[]> {
    return this.docs(tenant, threadId, await this.redis.lrange(keys.threadHeld(tenant, threadId), 0, -1));
  }

  async list(
    tenant: string,
    threadId: string,
    params: ListParams & { runId?: string | undefined },
  ): Promise<ListPage<MessageRecord>> {
    const index = keys.threadMessages(tenant, threadId);
    if (!params.runId) {
      const { ids, hasMore } = await pageIds(this.redis, index, params);
      return toPage(await this.docs(tenant, threadId, ids), hasMore);
    }
    // Filtering by run: page over the run's messages (a thread's answers are few per run).
    const all = await this.redis.zrange<string[]>(index, 0, -1);
    const mine = (await this.docs(tenant, threadId, all)).filter((m) => m.run_id === params.runId);
    return pageOf(mine, params);
  }

  async setMetadata(
    tenant: string,
    threadId: string,
    id: string,
    metadata: Record<string, string>,
  ): Promise<MessageRecord | null> {
    const current = await this.get(tenant, threadId, id);
    if (!current) return null;
    const next = { ...current, metadata };
    await this.redis.hset(keys.threadMessageDocs(tenant, threadId), { [id]: JSON.stringify(next) });
    return next;
  }

  /** The run that carried a message upstream and its position in that run's input, if any. */
  async sentBy(
    tenant: string,
    threadId: string,
    id: string,
  ): Promise<{ runId: string; index: number } | null> {
    return parseSent(await this.redis.hget<string>(keys.threadSent(tenant, threadId), id));
  }

  async delete(tenant: string, threadId: string, id: string): Promise<DeleteOutcome> {
    const [kind, sent = ""] = await this.scripts.delete.exec({
      keys: {
        threadMessages: keys.threadMessages(tenant, threadId),
        messageDocs: keys.threadMessageDocs(tenant, threadId),
        held: keys.threadHeld(tenant, threadId),
        sent: keys.threadSent(tenant, threadId),
      },
      args: { messageId: id },
    });
    return kind === "deleted" ? { kind, sentBy: parseSent(sent) } : { kind: "missing" };
  }

  /** Documents of the given messages, in the given order (missing ones left out). */
  async docs(tenant: string, threadId: string, ids: string[]): Promise<MessageRecord[]> {
    if (ids.length === 0) return [];
    const raw = (await this.redis.hmget(keys.threadMessageDocs(tenant, threadId), ...ids)) as unknown as
      | (string | null)[]
      | null;
    return (raw ?? []).map((d) => parseJson<MessageRecord>(d)).filter((m) => m !== null);
  }
}

function parseSent(value: string | null | undefined): { runId: string; index: number } | null {
  const [runId, index] = (value ?? "").split(" ");
  return runId && index ? { runId, index: Number(index) } : null;
}

/** The merged callers' callbacks as stored (createRun: one JSON document a line). */
function parseFanout(lines: string): { url: string; headers: Record<string, string> }[] {
  return lines
    .split("\n")
    .filter(Boolean)
    .map((line) => parseJson<{ url: string; headers: Record<string, string> }>(line))
    .filter((c) => c !== null);
}
