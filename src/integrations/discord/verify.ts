/**
 * Discord signs every interaction it POSTs with the application's Ed25519 key: `X-Signature-Ed25519`
 * (hex) over `X-Signature-Timestamp` (Unix seconds) followed by the raw body, checked against the
 * application's public key (hex, from the developer portal). WebCrypto's Ed25519 does the math (in
 * workerd and Node 22 alike). A timestamp further than `maxSkewS` from now is refused too, so a
 * captured interaction cannot be replayed later (Discord does not check that for us).
 */

export const DISCORD_SIGNATURE_HEADER = "x-signature-ed25519";
export const DISCORD_TIMESTAMP_HEADER = "x-signature-timestamp";
/** How far the signed timestamp may be from now, either way. */
export const DISCORD_MAX_SKEW_S = 300;

export type VerifyOutcome =
  | { ok: true }
  | { ok: false; reason: "missing_signature" | "bad_signature" | "stale_timestamp" };

const HEX = /^(?:[0-9a-f]{2})+$/i;

export function hexToBytes(hex: string): Uint8Array<ArrayBuffer> | null {
  if (!HEX.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A Discord public key as the portal shows it: 64 hex characters (32 bytes). */
export const isPublicKeyHex = (value: string): boolean => /^[0-9a-f]{64}$/i.test(value);

export async function verifyDiscordSignature(opts: {
  publicKeyHex: string;
  signatureHex: string | null | undefined;
  timestamp: string | null | undefined;
  body: Uint8Array;
  nowMs: number;
  maxSkewS?: number;
}): Promise<VerifyOutcome> {
  const { signatureHex, timestamp } = opts;
  if (!signatureHex || !timestamp) return { ok: false, reason: "missing_signature" };
  const signature = hexToBytes(signatureHex);
  const key = hexToBytes(opts.publicKeyHex);
  const shapeOk = signature?.length === 64 && key?.length === 32 && /^\d{1,12}$/.test(timestamp);
  if (!shapeOk || !signature || !key) return { ok: false, reason: "bad_signature" };
  const stamp = new TextEncoder().encode(timestamp);
  const message = new Uint8Array(stamp.length + opts.body.length);
  message.set(stamp);
  message.set(opts.body, stamp.length);
  let valid = false;
  try {
    const publicKey = await crypto.subtle.importKey("raw", key, { name: "Ed25519" }, false, ["verify"]);
    valid = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, message);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: "bad_signature" };
  const skewS = Math.abs(opts.nowMs / 1000 - Number(timestamp));
  if (skewS > (opts.maxSkewS ?? DISCORD_MAX_SKEW_S)) return { ok: false, reason: "stale_timestamp" };
  return { ok: true };
}
