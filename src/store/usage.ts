/**
 * Monthly usage counters of a tenant: one hash per UTC month (keys.ts `usage`), written by the run
 * scripts (createRun counts a run, releaseRun its tokens, abandonRun takes a run back) and read
 * here. What the fields mean and what a month costs is engine/usage.ts.
 */
import { keys } from "./keys";
import { hgetAll, type Redis } from "./redis";

export class UsageStore {
  private readonly redis: Redis;
  constructor(redis: Redis) {
    this.redis = redis;
  }

  /** The raw counters of one month (`YYYY-MM`): `field` and `field|model` → count; {} when none. */
  async counters(tenant: string, month: string): Promise<Record<string, string>> {
    return hgetAll(this.redis, keys.usage(tenant, month));
  }
}
