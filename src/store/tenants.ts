/**
 * Tenants and their API keys. A tenant is one hash (document, webhook secrets, limits as plain
 * fields for the Lua scripts); its keys are records in a per-tenant hash, and each live key is also
 * found by the SHA-256 of the key itself (the global index a request is authenticated through).
 * Revoking deletes that index entry in the same transaction, so the next request fails.
 */
import type { Role } from "../security/roles";
import { keys, TENANT_FIELDS } from "./keys";
import { type ListPage, type ListParams, pageIds, toPage } from "./list";
import { defineScript } from "./lua";
import { hgetAll, parseJson, type Redis } from "./redis";
import { createTenant } from "./scripts";

/**
 * Store a new API key unless its tenant already holds `maxLive` live (unrevoked) keys: the count
 * and the write in one step, so parallel requests cannot pass the cap. → 1 stored | 0 at the cap.
 * A live record's JSON holds `"revoked_at":null` (JSON.stringify writes no spaces; inside a string
 * value a quote is escaped, so a name cannot fake it). No cjson: it refuses some valid JSON (lone
 * surrogate escapes in a key's name, which the fuzz found).
 */
const putApiKey = defineScript({
  name: "put_api_key",
  keys: ["apiKeys", "byHash"],
  args: ["keyId", "doc", "maxLive", "liveMarker"],
  body: `
local live = 0
for _, raw in ipairs(redis.call('HVALS', apiKeys)) do
  if string.find(raw, liveMarker, 1, true) then live = live + 1 end
end
if live >= tonumber(maxLive) then return 0 end
redis.call('HSET', apiKeys, keyId, doc)
redis.call('SET', byHash, doc)
return 1
`,
});

export interface TenantLimits {
  /** null: the configured default applies. */
  max_active_runs: number | null;
  monthly_runs: number | null;
  monthly_tokens: number | null;
}

export interface TenantRecord {
  id: string;
  object: "tenant";
  name: string | null;
  created_at: number;
  limits: TenantLimits;
}

export interface WebhookSecret {
  id: string;
  secret: string;
  created_at_ms: number;
  /** When it stops signing (set when a newer secret replaces it); null while current. */
  expires_at_ms: number | null;
}

export interface ApiKeyRecord {
  id: string;
  object: "api_key";
  tenant: string;
  name: string | null;
  role: Role;
  /** The assistants this key may use; null = all of its tenant's. */
  assistant_ids: string[] | null;
  /** Requests per minute; null = the configured default. */
  rate_limit_per_min: number | null;
  /** The first characters of the key, to tell keys apart. */
  hint: string;
  created_at: number;
  revoked_at: number | null;
  /** SHA-256 of the key (never shown). */
  hash: string;
}

const limitFields = (l: TenantLimits) => ({
  [TENANT_FIELDS.maxActiveRuns]: l.max_active_runs ?? "",
  [TENANT_FIELDS.monthlyRuns]: l.monthly_runs ?? "",
  [TENANT_FIELDS.monthlyTokens]: l.monthly_tokens ?? "",
});

export class TenantStore {
  private readonly redis: Redis;
  private readonly createScript;
  constructor(redis: Redis) {
    this.redis = redis;
    this.createScript = createTenant.bind<number>(redis);
  }

  async get(tenant: string): Promise<TenantRecord | null> {
    return parseJson<TenantRecord>(await this.redis.hget(keys.tenant(tenant), TENANT_FIELDS.doc));
  }

  /** false when the tenant already exists. */
  async create(t: TenantRecord, secrets: WebhookSecret[], createdAtMs: number): Promise<boolean> {
    const fields = {
      [TENANT_FIELDS.doc]: JSON.stringify(t),
      [TENANT_FIELDS.secrets]: JSON.stringify(secrets),
      ...limitFields(t.limits),
    };
    const created = await this.createScript.exec({
      keys: { tenant: keys.tenant(t.id), tenantIndex: keys.tenantIndex() },
      args: { tenantId: t.id, createdMs: createdAtMs },
      rest: Object.entries(fields).flatMap(([k, v]) => [k, String(v)]),
    });
    return created === 1;
  }

  async update(t: TenantRecord): Promise<void> {
    await this.redis.hset(keys.tenant(t.id), {
      [TENANT_FIELDS.doc]: JSON.stringify(t),
      ...limitFields(t.limits),
    });
  }

  /**
   * The next `count` tenant ids for a sweep that walks the whole index over several calls (the
   * reconciler): a shared cursor moves on by `count`, and starts over past the end.
   */
  async nextPage(count: number): Promise<string[]> {
    const end = await this.redis.incrby(keys.reconcileCursor(), count);
    const ids = await this.redis.zrange<string[]>(keys.tenantIndex(), end - count, end - 1);
    if (ids.length < count) await this.redis.set(keys.reconcileCursor(), 0);
    return ids;
  }

  async list(params: ListParams): Promise<ListPage<TenantRecord>> {
    const { ids, hasMore } = await pageIds(this.redis, keys.tenantIndex(), params);
    const docs = await Promise.all(ids.map((id) => this.get(id)));
    return toPage(
      docs.filter((d) => d !== null),
      hasMore,
    );
  }

  async secrets(tenant: string): Promise<WebhookSecret[] | null> {
    return parseJson<WebhookSecret[]>(await this.redis.hget(keys.tenant(tenant), TENANT_FIELDS.secrets));
  }

  async setSecrets(tenant: string, secrets: WebhookSecret[]): Promise<void> {
    await this.redis.hset(keys.tenant(tenant), { [TENANT_FIELDS.secrets]: JSON.stringify(secrets) });
  }
}

export class ApiKeyStore {
  private readonly redis: Redis;
  private readonly putScript;
  constructor(redis: Redis) {
    this.redis = redis;
    this.putScript = putApiKey.bind<number>(redis);
  }

  /** The live key with this hash, or null (unknown or revoked). One round trip per request. */
  async resolve(hash: string): Promise<ApiKeyRecord | null> {
    return parseJson<ApiKeyRecord>(await this.redis.get(keys.apiKeyByHash(hash)));
  }

  /** Store a new key; false (nothing stored) when its tenant already holds `maxLive` live keys. */
  async put(k: ApiKeyRecord, maxLive: number): Promise<boolean> {
    const stored = await this.putScript.exec({
      keys: { apiKeys: keys.apiKeys(k.tenant), byHash: keys.apiKeyByHash(k.hash) },
      args: { keyId: k.id, doc: JSON.stringify(k), maxLive, liveMarker: '"revoked_at":null' },
    });
    return stored === 1;
  }

  async get(tenant: string, id: string): Promise<ApiKeyRecord | null> {
    return parseJson<ApiKeyRecord>(await this.redis.hget(keys.apiKeys(tenant), id));
  }

  /** All keys of a tenant, oldest first (revoked ones too, marked). */
  async list(tenant: string): Promise<ApiKeyRecord[]> {
    const all = await hgetAll(this.redis, keys.apiKeys(tenant));
    return Object.values(all)
      .map((raw) => parseJson<ApiKeyRecord>(raw))
      .filter((k) => k !== null)
      .sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  /** Revoke at once: the hash index entry goes in the same transaction. */
  async revoke(k: ApiKeyRecord, atS: number): Promise<ApiKeyRecord> {
    const revoked = { ...k, revoked_at: k.revoked_at ?? atS };
    await this.redis
      .multi()
      .del(keys.apiKeyByHash(k.hash))
      .hset(keys.apiKeys(k.tenant), { [k.id]: JSON.stringify(revoked) })
      .exec();
    return revoked;
  }
}
