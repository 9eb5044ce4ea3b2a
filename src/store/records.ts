/** Assistants and threads: JSON documents per tenant, indexed by creation time for listing. */
import type { OnBusy } from "../engine/busy";
import type { ProgressEventType } from "../engine/progress";
import { THREAD_TTL_S } from "../engine/constants";
import type { ResponseFormat, ToolDef } from "../engine/types";
import { keys, THREAD_FIELDS } from "./keys";
import { type ListPage, type ListParams, pageIds, toPage } from "./list";
import { parseJson, type Redis } from "./redis";
import { deleteThread, readConversation } from "./scripts";

export interface AssistantRecord {
  id: string;
  object: "assistant";
  created_at: number;
  name: string | null;
  description: string | null;
  model: string;
  instructions: string | null;
  tools: ToolDef[];
  tool_resources: Record<string, unknown>;
  metadata: Record<string, string>;
  temperature: number | null;
  top_p: number | null;
  response_format: ResponseFormat;
  reasoning_effort: string | null;
  /** threadhook: what a failing tool endpoint does to a run ("continue": the model sees the error). */
  tool_errors: "continue" | "fail";
  /** threadhook: the default busy-thread policy of runs on this assistant (engine/busy.ts); absent: the door's. */
  on_busy?: OnBusy | null;
  /** threadhook: the default `debounce_ms` that goes with `on_busy` (queue, merge). */
  debounce_ms?: number | null;
  /** threadhook: progress events its runs deliver unless a message says otherwise (engine/progress.ts). */
  events?: ProgressEventType[];
}

export interface ThreadRecord {
  id: string;
  object: "thread";
  created_at: number;
  metadata: Record<string, string>;
  tool_resources: Record<string, unknown>;
  /** threadhook: the caller-chosen conversation key mapped to this thread, if any. */
  conversation: string | null;
}

export class AssistantStore {
  private readonly redis: Redis;
  constructor(redis: Redis) {
    this.redis = redis;
  }

  async get(tenant: string, id: string): Promise<AssistantRecord | null> {
    return parseJson<AssistantRecord>(await this.redis.get(keys.assistant(tenant, id)));
  }

  /** Store an assistant; `createdAtMs` (new assistants only) places it in the list index. */
  async put(tenant: string, a: AssistantRecord, createdAtMs: number | null): Promise<void> {
    const p = this.redis.multi();
    p.set(keys.assistant(tenant, a.id), JSON.stringify(a));
    if (createdAtMs !== null) p.zadd(keys.assistantIndex(tenant), { score: createdAtMs, member: a.id });
    await p.exec();
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const [deleted] = await this.redis
      .multi()
      .del(keys.assistant(tenant, id))
      .zrem(keys.assistantIndex(tenant), id)
      .exec<[number, number]>();
    return deleted > 0;
  }

  async list(tenant: string, params: ListParams): Promise<ListPage<AssistantRecord>> {
    const { ids, hasMore } = await pageIds(this.redis, keys.assistantIndex(tenant), params);
    if (ids.length === 0) return toPage([], false);
    const docs = await this.redis.mget<(string | null)[]>(...ids.map((id) => keys.assistant(tenant, id)));
    return toPage(
      docs.map((d) => parseJson<AssistantRecord>(d)).filter((a) => a !== null),
      hasMore,
    );
  }
}

export type ThreadDeleteOutcome =
  | { kind: "deleted"; conversationId: string | null }
  | { kind: "busy"; activeRunId: string }
  | { kind: "missing" };

export class ThreadStore {
  private readonly redis: Redis;
  private readonly deleteScript;
  private readonly readConversationScript;
  constructor(redis: Redis) {
    this.redis = redis;
    this.deleteScript = deleteThread.bind<string[]>(redis);
    this.readConversationScript = readConversation.bind<[string, number]>(redis);
  }

  /** The run holding the thread, if any. */
  async activeRun(tenant: string, threadId: string): Promise<string | null> {
    return (await this.redis.get<string>(keys.threadActive(tenant, threadId))) ?? null;
  }

  /** Delete an idle thread with its messages and run index (runs themselves expire). */
  async delete(tenant: string, t: ThreadRecord): Promise<ThreadDeleteOutcome> {
    const k = (f: (tenant: string, id: string) => string) => f(tenant, t.id);
    const [kind, detail = ""] = await this.deleteScript.exec({
      keys: {
        thread: k(keys.thread),
        threadActive: k(keys.threadActive),
        threadQueue: k(keys.threadQueue),
        threadRuns: k(keys.threadRuns),
        threadMessages: k(keys.threadMessages),
        messageDocs: k(keys.threadMessageDocs),
        held: k(keys.threadHeld),
        sent: k(keys.threadSent),
        conversation: t.conversation ? keys.conversation(tenant, t.conversation) : k(keys.thread),
      },
      args: { threadId: t.id },
    });
    if (kind === "busy") return { kind, activeRunId: detail };
    if (kind === "missing") return { kind };
    return { kind: "deleted", conversationId: detail || null };
  }

  /**
   * The thread, with the upstream ids kept beside its document: its conversation, and the vector
   * store threadhook made for its messages' file_search attachments (`files_store`).
   */
  async get(tenant: string, id: string): Promise<StoredThread | null> {
    const [raw, conversationId, filesStore] = (await this.redis.hmget(
      keys.thread(tenant, id),
      "doc",
      "conversation_id",
      "files_store",
    )) as unknown as (string | null)[];
    return threadOf(raw ?? null, conversationId ?? null, filesStore ?? null);
  }

  /** Record the thread's attachment store; returns the one that won if set concurrently. */
  async setFilesStore(tenant: string, threadId: string, storeId: string): Promise<string> {
    const key = keys.thread(tenant, threadId);
    const [, current] = await this.redis
      .multi()
      .hsetnx(key, "files_store", storeId)
      .hget<string>(key, "files_store")
      .exec<[number, string]>();
    return current;
  }

  /** Store a thread's record; `assistants` (optional) are marked as ones the thread belongs to. */
  async put(tenant: string, t: ThreadRecord, assistants: readonly string[] = []): Promise<void> {
    const marks = Object.fromEntries(assistants.map((id) => [THREAD_FIELDS.assistant(id), "1"]));
    await this.redis
      .multi()
      .hset(keys.thread(tenant, t.id), { doc: JSON.stringify(t), ...marks })
      .expire(keys.thread(tenant, t.id), THREAD_TTL_S)
      .exec();
  }

  /**
   * Whether the thread belongs to one of `assistants` (a run of it, or created by a key scoped to
   * it); null when the thread does not exist. One round trip.
   */
  async belongsTo(tenant: string, id: string, assistants: readonly string[]): Promise<boolean | null> {
    const [doc, ...marks] =
      ((await this.redis.hmget(
        keys.thread(tenant, id),
        "doc",
        ...assistants.map(THREAD_FIELDS.assistant),
      )) as unknown as (string | null)[] | null) ?? [];
    if (doc === null || doc === undefined) return null;
    return marks.some((m) => m !== null);
  }

  /** The assistants a thread is marked as belonging to (see belongsTo). */
  async assistantMarks(tenant: string, id: string): Promise<string[]> {
    const prefix = THREAD_FIELDS.assistant("");
    const fields = await this.redis.hkeys(keys.thread(tenant, id));
    return fields.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length));
  }

  /** Mark a thread as belonging to `assistants` (a thread that exists: its TTL is left as it is). */
  async markAssistants(tenant: string, id: string, assistants: readonly string[]): Promise<void> {
    if (assistants.length === 0) return;
    await this.redis.hset(
      keys.thread(tenant, id),
      Object.fromEntries(assistants.map((a) => [THREAD_FIELDS.assistant(a), "1"])),
    );
  }

  /**
   * The thread mapped to a conversation key: `freshId` when the key is new (first writer wins), in
   * one round trip. The thread's record is written with its first run (`RunStore.create`). Every
   * use maps the key for THREAD_TTL_S again (a sliding TTL), so a thread in use keeps its key.
   */
  async resolveConversation(
    tenant: string,
    key: string,
    freshId: string,
  ): Promise<{ threadId: string; created: boolean }> {
    const convKey = keys.conversation(tenant, key);
    const [won, threadId] = await this.redis
      .multi()
      .set(convKey, freshId, { nx: true, ex: THREAD_TTL_S })
      .get<string>(convKey)
      .expire(convKey, THREAD_TTL_S)
      .exec<[string | null, string, number]>();
    return { threadId, created: won === "OK" };
  }

  async conversationThread(tenant: string, key: string): Promise<string | null> {
    return (await this.redis.get<string>(keys.conversation(tenant, key))) ?? null;
  }

  /**
   * The thread a conversation key maps to and when the mapping expires (unix seconds, the same on
   * every read, unlike now + TTL), or null.
   */
  async conversationMapping(
    tenant: string,
    key: string,
  ): Promise<{ threadId: string; expiresAtS: number | null } | null> {
    const [threadId, expiresAtS] = await this.readConversationScript.exec({
      keys: { conversation: keys.conversation(tenant, key) },
      args: {},
    });
    return threadId ? { threadId, expiresAtS: expiresAtS > 0 ? expiresAtS : null } : null;
  }

  async forgetConversation(tenant: string, key: string): Promise<boolean> {
    return (await this.redis.del(keys.conversation(tenant, key))) > 0;
  }

  /** Record the OpenAI conversation of a thread; returns the one that won if set concurrently. */
  async setConversationId(tenant: string, threadId: string, conversationId: string): Promise<string> {
    const key = keys.thread(tenant, threadId);
    const [, current] = await this.redis
      .multi()
      .hsetnx(key, "conversation_id", conversationId)
      .hget<string>(key, "conversation_id")
      .exec<[number, string]>();
    return current;
  }
}

/** A thread as its hash holds it: the document, with its conversation and files store beside it. */
export type StoredThread = ThreadRecord & { conversation_id: string | null; files_store: string | null };

/** The thread from its hash fields `doc`, `conversation_id`, `files_store` ("" or null: absent). */
export function threadOf(
  doc: string | null,
  conversationId: string | null,
  filesStore: string | null,
): StoredThread | null {
  const record = parseJson<ThreadRecord>(doc || null);
  return record
    ? { ...record, conversation_id: conversationId || null, files_store: filesStore || null }
    : null;
}
