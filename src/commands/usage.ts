/** Reading a tenant's usage of one month (see engine/usage.ts for what is counted). */
import type { Config } from "../config";
import { isMonth, monthOf, usageReport } from "../engine/usage";
import { badRequest } from "../errors";
import { keys } from "../store/keys";
import { hgetAll, type Redis } from "../store/redis";

export function parseMonth(value: string | undefined, now: number): string {
  if (value === undefined) return monthOf(now);
  if (!isMonth(value)) throw badRequest("invalid_value", "month must look like YYYY-MM.", "month");
  return value;
}

export async function readUsage(
  deps: { redis: Redis; config: Pick<Config, "modelPrices"> },
  tenant: string,
  month: string,
) {
  const counters = await hgetAll(deps.redis, keys.usage(tenant, month));
  return usageReport(tenant, month, counters, deps.config.modelPrices);
}
