/**
 * `verifyWebhook`: check a threadhook callback per Standard Webhooks — the HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{raw body}` under the secret (`whsec_` + base64), any one of the
 * space-separated `v1,` signatures (during a secret rotation there is one per live secret), and a
 * timestamp within the tolerance — then return the typed event. Web Crypto only (Node ≥ 20,
 * Workers, Deno, Bun, browsers).
 */
import type { WebhookEvent } from "./types.js";

export type WebhookFailure =
  | "missing_headers"
  | "bad_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "bad_signature"
  | "bad_payload";

export class WebhookVerificationError extends Error {
  readonly reason: WebhookFailure;
  constructor(reason: WebhookFailure, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
    this.reason = reason;
  }
}

export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** Seconds a timestamp may be away from now (default 300, as Standard Webhooks recommends). */
  toleranceS?: number;
  /** Unix seconds to check against (default: the clock). */
  now?: number;
}

const encoder = new TextEncoder();

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const found = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = found === undefined ? undefined : record[found];
  return Array.isArray(value) ? value.join(" ") : value;
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The signing key of a secret given as `whsec_<base64>` (or the bare base64). */
function secretKey(secret: string): Uint8Array {
  return base64ToBytes(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
}

/** Constant-time comparison of two strings of base64. */
function same(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** `v1,<base64>` of the signed content under one secret. */
export async function signWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    secretKey(secret) as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}

/**
 * Verify a callback and return its event. `rawBody` is the body exactly as received (not
 * re-serialized JSON). `secret` may be a list: the event is accepted when any secret made any of
 * its `v1,` signatures. Throws `WebhookVerificationError` otherwise.
 */
export async function verifyWebhook<E = WebhookEvent>(
  rawBody: string | Uint8Array,
  headers: HeaderSource,
  secret: string | string[],
  options: VerifyOptions = {},
): Promise<E> {
  const body = typeof rawBody === "string" ? rawBody : new TextDecoder().decode(rawBody);
  const id = header(headers, "webhook-id");
  const ts = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !ts || !signatures) {
    throw new WebhookVerificationError(
      "missing_headers",
      "webhook-id, webhook-timestamp and webhook-signature are required",
    );
  }
  if (!/^\d{1,12}$/.test(ts))
    throw new WebhookVerificationError("bad_timestamp", "webhook-timestamp is not unix seconds");
  const timestamp = Number(ts);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceS ?? 300;
  if (timestamp < now - tolerance)
    throw new WebhookVerificationError("timestamp_too_old", "the event's timestamp is too old");
  if (timestamp > now + tolerance)
    throw new WebhookVerificationError("timestamp_too_new", "the event's timestamp is in the future");
  const given = signatures
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .map((s) => s.slice(3));
  for (const s of Array.isArray(secret) ? secret : [secret]) {
    const expected = (await signWebhook(s, id, timestamp, body)).slice(3);
    if (given.some((g) => same(g, expected))) {
      try {
        return JSON.parse(body) as E;
      } catch {
        throw new WebhookVerificationError("bad_payload", "the signed body is not JSON");
      }
    }
  }
  throw new WebhookVerificationError("bad_signature", "no signature matches the secret(s)");
}
