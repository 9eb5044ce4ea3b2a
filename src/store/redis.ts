import { Redis } from "@upstash/redis/cloudflare";

export type { Redis };

/**
 * JSON is (de)serialised by the store itself, so values round-trip exactly. Replies come as plain
 * JSON (`responseEncoding: false`), not base64 that the client decodes string by string in
 * JavaScript (a cost on every Redis request: bench:profile): everything threadhook stores is text it
 * wrote as UTF-8 (JSON, ids, numbers), which plain JSON carries unchanged.
 */
export function createRedis(url: string, token: string): Redis {
  return new Redis({
    url,
    token,
    automaticDeserialization: false,
    enableTelemetry: false,
    responseEncoding: false,
  });
}

export const parseJson = <T>(raw: unknown): T | null =>
  typeof raw === "string" ? (JSON.parse(raw) as T) : null;

/** HGETALL as an object: without automatic deserialisation the client answers `[field, value, …]`. */
export async function hgetAll(redis: Redis, key: string): Promise<Record<string, string>> {
  const raw = (await redis.hgetall(key)) as unknown;
  if (!raw) return {};
  if (!Array.isArray(raw)) return raw as Record<string, string>;
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = String(raw[i + 1]);
  return out;
}
