import { Redis } from "@upstash/redis/cloudflare";

export type { Redis };

/** JSON is (de)serialised by the store itself, so values round-trip exactly. */
export function createRedis(url: string, token: string): Redis {
  return new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false });
}

export const parseJson = <T>(raw: unknown): T | null =>
  typeof raw === "string" ? (JSON.parse(raw) as T) : null;
