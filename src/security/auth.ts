/**
 * API-key authentication. For now one key from config serves one tenant ("default"); the tenant is
 * carried on the context so every store call is already tenant-scoped.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app";
import { requireConfig } from "../config";
import { ApiError } from "../errors";

export const DEFAULT_TENANT = "default";

export type AuthedEnv = AppEnv & { Variables: { tenant: string } };

export const requireApiKey = createMiddleware<AuthedEnv>(async (c, next) => {
  const config = requireConfig(c.env);
  const header = c.req.header("authorization") ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
  if (!config.apiKey) throw new ApiError(503, "service_not_configured", "API_KEY is not configured.");
  if (!presented || !(await sameSecret(presented, config.apiKey))) {
    throw new ApiError(
      401,
      "invalid_api_key",
      "Missing or invalid API key. Send 'Authorization: Bearer <key>'.",
    );
  }
  c.set("tenant", DEFAULT_TENANT);
  await next();
});

/** Constant-time comparison (of SHA-256 digests, so lengths do not leak either). */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(a)),
    crypto.subtle.digest("SHA-256", enc.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
