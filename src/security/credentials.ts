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

/** Secrets threadhook is configured with, and makes, carry at least this many characters… */
export const MIN_SECRET_CHARS = 24;
/** …and, outside development, at least this much estimated randomness (24 random hex digits: ~86). */
const MIN_SECRET_BITS = 72;

/**
 * A rough ceiling on a string's randomness: the Shannon entropy of its own characters, times its
 * length. It cannot tell a random key from a memorable one, but it refuses the repetitive ones
 * (`kkkk…`, `abcabc…`) that a length rule alone lets through.
 */
export function estimatedBits(text: string): number {
  const chars = [...text];
  const counts = new Map<string, number>();
  for (const ch of chars) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / chars.length) * Math.log2(n / chars.length);
  return perChar * chars.length;
}

/** Why a secret is too weak, or null. Development keeps the length rule only (its keys are public). */
export function secretProblem(value: string, devMode: boolean): string | null {
  if ([...value].length < MIN_SECRET_CHARS) return `must be at least ${MIN_SECRET_CHARS} characters`;
  if (!devMode && estimatedBits(value) < MIN_SECRET_BITS)
    return "is too repetitive to be random: generate it (e.g. openssl rand -base64 32)";
  return null;
}

/** Why a `whsec_…` secret is too weak (fewer than MIN_SECRET_CHARS bytes of key, or repetitive), or null. */
export function webhookSecretProblem(value: string, devMode: boolean): string | null {
  const body = value.slice("whsec_".length);
  let bytes = 0;
  try {
    bytes = atob(body).length;
  } catch {}
  if (bytes < MIN_SECRET_CHARS)
    return `must carry at least ${MIN_SECRET_CHARS} bytes (whsec_ and 32 or more base64 characters)`;
  return secretProblem(body, devMode);
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
