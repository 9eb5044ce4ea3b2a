/**
 * Monthly usage counters of a tenant: one hash per UTC month (keys.ts `usage`), written by the run
 * scripts (createRun counts a run, releaseRun its tokens, abandonRun takes a run back) and read
 * here. What the fields mean and what a month costs is engine/usage.ts.
 */
import { keys, TENANT_FIELDS } from "./keys";
import { hgetAll, type Redis } from "./redis";

export class UsageStore {
  private readonly redis: Redis;
  constructor(redis: Redis) {
    this.redis = redis;
  }

  /**
   * The tenant's monthly token quota (its own limit, else `defaultLimit`; 0 = none) when the month's
   * tokens have reached it, else null. One round trip.
   */
  async tokenQuotaReached(tenant: string, month: string, defaultLimit: number): Promise<number | null> {
    const usage = keys.usage(tenant, month);
    const [own, input, output] = await this.redis
      .multi()
      .hget<string | number>(keys.tenant(tenant), TENANT_FIELDS.monthlyTokens)
      .hget<string | number>(usage, "input_tokens")
      .hget<string | number>(usage, "output_tokens")
      .exec<[string | number | null, string | number | null, string | number | null]>();
    return tokenQuotaOf(own, input, output, defaultLimit);
  }

  /** The raw counters of one month (`YYYY-MM`): `field` and `field|model` → count; {} when none. */
  async counters(tenant: string, month: string): Promise<Record<string, string>> {
    return hgetAll(this.redis, keys.usage(tenant, month));
  }
}

/**
 * The token quota reached, from the tenant's own `monthly_tokens` (else `defaultLimit`; 0 = none)
 * and the month's token counters as Redis answers them; null when not reached.
 */
export function tokenQuotaOf(
  own: string | number | null,
  input: string | number | null,
  output: string | number | null,
  defaultLimit: number,
): number | null {
  const limit = own !== null && own !== "" ? Number(own) : defaultLimit;
  if (!(limit > 0)) return null;
  const used = Number(input || 0) + Number(output || 0);
  return used >= limit ? limit : null;
}
