/** Reading a tenant's usage of one month (see engine/usage.ts for what is counted and costed). */
import type { Config } from "../config";
import { isMonth, monthOf, usageReport } from "../engine/usage";
import { badRequest } from "../errors";
import type { Redis } from "../store/redis";
import { UsageStore } from "../store/usage";

export function parseMonth(value: string | undefined, now: number): string {
  if (value === undefined) return monthOf(now);
  if (!isMonth(value)) throw badRequest("invalid_value", "month must look like YYYY-MM.", "month");
  return value;
}

/**
 * The usage document of a tenant's month. Takes the UsageStore; a bare Redis client is still
 * accepted (and wrapped) until the routes pass `stores(config).usage`.
 */
export async function readUsage(
  usage: UsageStore | Redis,
  config: Pick<Config, "modelPrices">,
  tenant: string,
  month: string,
) {
  const store = usage instanceof UsageStore ? usage : new UsageStore(usage);
  return usageReport(tenant, month, await store.counters(tenant, month), config.modelPrices);
}
