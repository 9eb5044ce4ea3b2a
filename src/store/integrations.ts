/**
 * Integrations (`/v1/integrations`): one JSON record per integration, owned by the tenant (no TTL),
 * with its credentials inside (never presented: commands/integrations.ts masks them); an index of
 * the tenant's integration ids that also enforces the per-tenant cap; and a global id → tenant
 * index, because the platform's inbound request names only the integration's id.
 */
import { keys } from "./keys";
import { defineScript } from "./lua";
import { parseJson, type Redis } from "./redis";

export interface IntegrationRecord {
  id: string;
  object: "integration";
  created_at: number;
  /** "slack" | "discord" (src/integrations/ has an adapter per type). */
  type: string;
  assistant_id: string;
  /** Write-only: stored to verify the platform's requests and to call its API, never shown. */
  credentials: Record<string, string>;
  /** The type's options, including what the adapter learned at create (Slack: team_id, app_id). */
  options: Record<string, unknown>;
  metadata: Record<string, string>;
}

/** How long a run's reply state is kept: its answer is posted well within a day (retries included). */
const REPLY_STATE_TTL_S = 2 * 86_400;

/** Add an integration unless the tenant has `cap` already. → 1, or 0 at the cap. */
const addIntegration = defineScript({
  name: "integration_add",
  keys: ["integration", "index", "owner"],
  args: ["id", "tenant", "doc", "cap", "now"],
  body: `
if redis.call('ZCARD', index) >= tonumber(cap) then return 0 end
redis.call('SET', integration, doc)
redis.call('ZADD', index, tonumber(now), id)
redis.call('SET', owner, tenant)
return 1
`,
});

export class IntegrationStore {
  private readonly redis: Redis;
  private readonly add;

  constructor(redis: Redis) {
    this.redis = redis;
    this.add = addIntegration.bind<number>(redis);
  }

  /** false: the tenant has `cap` integrations already. */
  async create(tenant: string, i: IntegrationRecord, cap: number): Promise<boolean> {
    const added = await this.add.exec({
      keys: {
        integration: keys.integration(tenant, i.id),
        index: keys.integrationIndex(tenant),
        owner: keys.integrationOwner(i.id),
      },
      args: { id: i.id, tenant, doc: JSON.stringify(i), cap, now: i.created_at * 1000 },
    });
    return Number(added) === 1;
  }

  async get(tenant: string, id: string): Promise<IntegrationRecord | null> {
    return parseJson<IntegrationRecord>(await this.redis.get(keys.integration(tenant, id)));
  }

  /** The integration an inbound request names, found by its id alone (with its tenant), or null. */
  async find(id: string): Promise<{ tenant: string; integration: IntegrationRecord } | null> {
    const tenant = await this.redis.get<string>(keys.integrationOwner(id));
    if (!tenant) return null;
    const integration = await this.get(String(tenant), id);
    return integration ? { tenant: String(tenant), integration } : null;
  }

  /** Replace an existing integration's record (no-op when it was deleted meanwhile). */
  async put(tenant: string, i: IntegrationRecord): Promise<void> {
    await this.redis.set(keys.integration(tenant, i.id), JSON.stringify(i), { xx: true });
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const p = this.redis.multi();
    p.del(keys.integration(tenant, id));
    p.zrem(keys.integrationIndex(tenant), id);
    p.del(keys.integrationOwner(id));
    const [deleted] = (await p.exec()) as [number, number, number];
    return Number(deleted) > 0;
  }

  /** Where the adapter posted a run's answer so far (null: nothing yet). */
  async replyState(tenant: string, runId: string): Promise<Record<string, string> | null> {
    return parseJson<Record<string, string>>(await this.redis.get(keys.runReply(tenant, runId)));
  }

  async setReplyState(tenant: string, runId: string, state: Record<string, string>): Promise<void> {
    await this.redis.set(keys.runReply(tenant, runId), JSON.stringify(state), { ex: REPLY_STATE_TTL_S });
  }

  async list(tenant: string): Promise<IntegrationRecord[]> {
    const ids = (await this.redis.zrange(keys.integrationIndex(tenant), 0, -1)) as string[];
    if (ids.length === 0) return [];
    const docs = (await this.redis.mget(...ids.map((id) => keys.integration(tenant, id)))) as unknown[];
    return docs.map((d) => parseJson<IntegrationRecord>(d)).filter((s): s is IntegrationRecord => s !== null);
  }
}
