/**
 * Credentials threadhook makes and checks: API keys (`thk_…`, shown once, stored as a SHA-256 hash),
 * webhook signing secrets (`whsec_…`), and constant-time comparison of configured keys.
 * API keys carry 190 bits of randomness, so a plain SHA-256 is enough to store them: there is
 * nothing to brute-force that a slow password hash would protect.
 */
import { randomBase62 } from "../store/ids";

const API_KEY_PREFIX = "thk_";
const API_KEY_RANDOM_CHARS = 32;
const WEBHOOK_SECRET_BYTES = 32;
/** Characters of a key shown in listings so people can tell keys apart (`thk_AbCd`). */
const KEY_HINT_CHARS = API_KEY_PREFIX.length + 4;

export const generateApiKey = () => `${API_KEY_PREFIX}${randomBase62(API_KEY_RANDOM_CHARS)}`;
export const keyHint = (key: string) => key.slice(0, KEY_HINT_CHARS);

/** Plausible shape of a key threadhook issued (anything else is refused without a lookup). */
export const looksLikeApiKey = (key: string) =>
  key.startsWith(API_KEY_PREFIX) && key.length <= 128 && /^[A-Za-z0-9_]+$/.test(key);

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function generateWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(WEBHOOK_SECRET_BYTES));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/** Constant-time comparison (of SHA-256 digests, so lengths do not leak either). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
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

/** The bearer token of an `Authorization` header, or "". */
export function bearer(header: string | undefined): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1] ?? "";
}
