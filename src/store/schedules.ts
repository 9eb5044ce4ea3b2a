/**
 * Schedules (`/v1/schedules`): one JSON record per schedule, owned by the tenant (no TTL), and an
 * index of the tenant's schedule ids that also enforces the per-tenant cap atomically.
 */
import { keys } from "./keys";
import { defineScript } from "./lua";
import { parseJson, type Redis } from "./redis";

export interface ScheduleRecord {
  id: string;
  object: "schedule";
  created_at: number;
  cron: string;
  timezone: string;
  start_at: string | null;
  end_at: string | null;
  enabled: boolean;
  assistant_id: string;
  /** The input of every run; `{{date}}` / `{{datetime}}` become the firing's date / time in `timezone`. */
  input: string;
  /** Every run on this conversation key's thread; null: a fresh thread each time. */
  conversation: string | null;
  callback_url: string;
  metadata: Record<string, string>;
  last_fired_at: string | null;
}

/** Add a schedule unless the tenant has `cap` already. → 1, or 0 at the cap. */
const addSchedule = defineScript({
  name: "schedule_add",
  keys: ["schedule", "index"],
  args: ["id", "doc", "cap", "now"],
  body: `
if redis.call('ZCARD', index) >= tonumber(cap) then return 0 end
redis.call('SET', schedule, doc)
redis.call('ZADD', index, tonumber(now), id)
return 1
`,
});

/** Replace the record only if it is still `old` (compare-and-set). → 1, or 0 when it changed or is gone. */
const replaceSchedule = defineScript({
  name: "schedule_replace_if",
  keys: ["schedule"],
  args: ["old", "doc"],
  body: `
if redis.call('GET', schedule) ~= old then return 0 end
redis.call('SET', schedule, doc)
return 1
`,
});

/** Attempts of `markFired` when the record changes between reading and writing it. */
const MARK_RETRIES = 5;

export class ScheduleStore {
  private readonly redis: Redis;
  private readonly add;
  private readonly replaceIf;

  constructor(redis: Redis) {
    this.redis = redis;
    this.add = addSchedule.bind<number>(redis);
    this.replaceIf = replaceSchedule.bind<number>(redis);
  }

  /** false: the tenant has `cap` schedules already. */
  async create(tenant: string, s: ScheduleRecord, cap: number): Promise<boolean> {
    const added = await this.add.exec({
      keys: { schedule: keys.schedule(tenant, s.id), index: keys.scheduleIndex(tenant) },
      args: { id: s.id, doc: JSON.stringify(s), cap, now: s.created_at * 1000 },
    });
    return Number(added) === 1;
  }

  async get(tenant: string, id: string): Promise<ScheduleRecord | null> {
    return parseJson<ScheduleRecord>(await this.redis.get(keys.schedule(tenant, id)));
  }

  /** Replace an existing schedule's record (no-op when it was deleted meanwhile). */
  async put(tenant: string, s: ScheduleRecord): Promise<void> {
    await this.redis.set(keys.schedule(tenant, s.id), JSON.stringify(s), { xx: true });
  }

  /**
   * Set `last_fired_at` on the record as it is now, keeping every change made since the firing read
   * it (a PATCH that paused it meanwhile); nothing when it was deleted.
   */
  async markFired(tenant: string, id: string, at: string): Promise<void> {
    const key = keys.schedule(tenant, id);
    for (let attempt = 0; attempt < MARK_RETRIES; attempt++) {
      const old = await this.redis.get(key);
      if (typeof old !== "string") return;
      const doc = JSON.stringify({ ...(JSON.parse(old) as ScheduleRecord), last_fired_at: at });
      const replaced = await this.replaceIf.exec({ keys: { schedule: key }, args: { old, doc } });
      if (Number(replaced) === 1) return;
    }
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const p = this.redis.multi();
    p.del(keys.schedule(tenant, id));
    p.zrem(keys.scheduleIndex(tenant), id);
    const [deleted] = (await p.exec()) as [number, number];
    return Number(deleted) > 0;
  }

  async list(tenant: string): Promise<ScheduleRecord[]> {
    const ids = (await this.redis.zrange(keys.scheduleIndex(tenant), 0, -1)) as string[];
    if (ids.length === 0) return [];
    const docs = (await this.redis.mget(...ids.map((id) => keys.schedule(tenant, id)))) as unknown[];
    return docs.map((d) => parseJson<ScheduleRecord>(d)).filter((s): s is ScheduleRecord => s !== null);
  }
}
