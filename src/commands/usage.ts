/** Reading a tenant's usage of one month (see engine/usage.ts for what is counted and costed). */
import type { Config } from "../config";
import { isMonth, monthOf, usageReport } from "../engine/usage";
import { badRequest } from "../errors";
import type { UsageStore } from "../store/usage";

export function parseMonth(value: string | undefined, now: number): string {
  if (value === undefined) return monthOf(now);
  if (!isMonth(value)) throw badRequest("invalid_value", "month must look like YYYY-MM.", "month");
  return value;
}

/** The usage document of a tenant's month. */
export async function readUsage(
  deps: { usage: Pick<UsageStore, "counters">; config: Pick<Config, "modelPrices"> },
  tenant: string,
  month: string,
) {
  return usageReport(tenant, month, await deps.usage.counters(tenant, month), deps.config.modelPrices);
}
