/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `${id}.${timestamp}.${body}` with the base64 key of a `whsec_…` secret, sent as
 * `webhook-signature: v1,<base64>`; several secrets (a rotation window) give several
 * space-separated signatures. The runtime's own WebCrypto HMAC computes it: the reference library's
 * HMAC is JavaScript, a cost every callback and tool call paid in CPU (issue 15).
 */

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

/** The key bytes of a `whsec_<base64>` secret (the prefix is optional, as in the reference library). */
function keyBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  let raw: string;
  try {
    raw = atob(b64);
  } catch {
    throw new Error("a webhook secret is not base64");
  }
  if (raw.length === 0) throw new Error("a webhook secret is empty");
  return Uint8Array.from(raw, (ch) => ch.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

async function signOne(secret: string, message: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes(secret) as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, message as BufferSource);
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

export async function signWebhook(
  secrets: string[],
  id: string,
  at: Date,
  body: string,
): Promise<SignedHeaders> {
  if (secrets.length === 0) throw new Error("no webhook secret to sign with");
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const message = encoder.encode(`${id}.${timestamp}.${body}`);
  const signatures = await Promise.all(secrets.map((s) => signOne(s, message)));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signatures.join(" "),
  };
}
