// Duration and time parsing for Upstash-Delay / Upstash-Timeout / Retry-After.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `10s`, `1m`, `2h`, `1d`, compound `1h30m`; a bare number means seconds. Undefined if invalid. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? "s"] ?? 0);
  }
  return total;
}

/** Response headers that may set the next retry time: seconds, an HTTP date or a Go duration. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const asDuration = parseDuration(value);
  if (asDuration !== undefined) return asDuration;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
