/** Structured JSON logs. Field names that could carry a secret are redacted, whatever the value. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const SECRET_FIELD = /key|secret|token|authorization|signature|password/i;

let threshold: LogLevel | "silent" = "info";
export function setLogLevel(level: LogLevel | "silent"): void {
  threshold = level;
}

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const safe: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) safe[k] = SECRET_FIELD.test(k) ? "[redacted]" : v;
  const line = JSON.stringify({ level, msg, ...safe });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * Vendor errors can quote the request they failed on (`@upstash/redis` appends ", command was: …",
 * which holds run documents and callback headers); only the part before such a quote is logged.
 */
const QUOTED_REQUEST = /,? command was:[\s\S]*$/;

export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error)
    return { error: err.name, error_message: err.message.replace(QUOTED_REQUEST, "") };
  return { error: String(err) };
}
