// The `Upstash-Signature` JWT: HS256 keyed with the signing-key string's bytes (what Receiver.verify checks).
import { createHash, createHmac, randomBytes } from "node:crypto";

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

export function signDelivery(key: string, destination: string, body: Buffer): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64url(
    JSON.stringify({
      iss: "Upstash",
      sub: destination,
      exp: now + 300,
      nbf: now,
      iat: now,
      jti: `jwt_${randomId(20)}`,
      body: createHash("sha256").update(body).digest("base64url"),
    }),
  );
  const signature = createHmac("sha256", key).update(`${header}.${claims}`).digest("base64url");
  return `${header}.${claims}.${signature}`;
}

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Base58-looking random id, the style QStash uses for keys and ids. */
export function randomId(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

export const newSigningKey = (): string => `sig_${randomId(28)}`;
