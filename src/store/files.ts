/**
 * Files and vector stores in Redis: the records that make an upstream file or store a tenant's. All
 * tenants share one OpenAI project, so an id is usable only when the tenant's own record for it
 * exists; another tenant's id finds nothing, exactly like an unknown one. The records live as long
 * as the tenant keeps the object (no TTL: the user owns them).
 */
import { keys } from "./keys";
import { type ListPage, type ListParams, pageIds, toPage } from "./list";
import { parseJson, type Redis } from "./redis";

/** A file as the API shows it (OpenAI's `file` object) plus what threadhook knows about it. */
export interface FileRecord {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: "processed";
  status_details: null;
  expires_at: number | null;
  /** threadhook: the content type it is served with. */
  mime_type: string;
  /** threadhook: the run whose code interpreter made it (null for uploads). */
  run_id: string | null;
}

/** A vector store as last seen upstream, and what created it. */
export interface VectorStoreRecord {
  id: string;
  object: "vector_store";
  created_at: number;
  name: string;
  usage_bytes: number;
  file_counts: { in_progress: number; completed: number; failed: number; cancelled: number; total: number };
  status: string;
  expires_after: unknown;
  expires_at: number | null;
  last_active_at: number | null;
  metadata: Record<string, string>;
  /** threadhook: made for a thread's attachments or an assistant's v1 files (deleted with it). */
  made_for: { thread_id: string } | { assistant_id: string } | null;
}

/** A per-tenant JSON document kind with a creation-time index. */
class OwnedDocs<T extends { id: string }> {
  protected readonly redis: Redis;
  private readonly doc: (tenant: string, id: string) => string;
  private readonly index: (tenant: string) => string;

  constructor(redis: Redis, doc: (tenant: string, id: string) => string, index: (tenant: string) => string) {
    this.redis = redis;
    this.doc = doc;
    this.index = index;
  }

  async get(tenant: string, id: string): Promise<T | null> {
    return parseJson<T>(await this.redis.get(this.doc(tenant, id)));
  }

  /** Store a record; `createdAtMs` (new records only) places it in the list index. */
  async put(tenant: string, record: T, createdAtMs: number | null): Promise<void> {
    const p = this.redis.multi();
    p.set(this.doc(tenant, record.id), JSON.stringify(record));
    if (createdAtMs !== null) p.zadd(this.index(tenant), { score: createdAtMs, member: record.id });
    await p.exec();
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const [deleted] = await this.redis
      .multi()
      .del(this.doc(tenant, id))
      .zrem(this.index(tenant), id)
      .exec<[number, number]>();
    return deleted > 0;
  }

  /** The records of those ids the tenant has, in the given order (others left out). */
  async many(tenant: string, ids: string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    const docs = await this.redis.mget<(string | null)[]>(...ids.map((id) => this.doc(tenant, id)));
    return docs.map((d) => parseJson<T>(d)).filter((d): d is T => d !== null);
  }

  async list(tenant: string, params: ListParams): Promise<ListPage<T>> {
    const { ids, hasMore } = await pageIds(this.redis, this.index(tenant), params);
    return toPage(await this.many(tenant, ids), hasMore);
  }
}

export class FileStore extends OwnedDocs<FileRecord> {
  constructor(redis: Redis) {
    super(redis, keys.file, keys.fileIndex);
  }
}

export class VectorStoreStore extends OwnedDocs<VectorStoreRecord> {
  constructor(redis: Redis) {
    super(redis, keys.vectorStore, keys.vectorStoreIndex);
  }
}
