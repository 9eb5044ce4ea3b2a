/**
 * Random identifiers: object ids in the OpenAI style (a prefix and 24 base62 characters) and the
 * random part of API keys (security/credentials.ts). One generator for both, without modulo bias.
 */
export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * The largest multiple of 62 a byte can hold (4 × 62). A byte below it maps onto the alphabet with
 * `% 62`, each character from exactly 4 byte values; bytes from 248 to 255 are dropped (rejection
 * sampling). Mapping them too would make '0'–'7' 5/4 as likely as the other characters.
 */
export const BASE62_BYTE_LIMIT = 248;

const ID_RANDOM_CHARS = 24;
const MAX_RANDOM_BYTES = 65_536;

export type IdPrefix =
  | "asst"
  | "thread"
  | "run"
  | "msg"
  | "step"
  | "call"
  | "evt"
  | "lease"
  | "key"
  | "whs"
  | "sched"
  | "integ";

/** A source of random bytes (tests pass a deterministic one). */
export type RandomBytes = (count: number) => Uint8Array;

const cryptoBytes: RandomBytes = (count) => crypto.getRandomValues(new Uint8Array(count));

/** `n` uniformly random base62 characters. */
export function randomBase62(n: number, randomBytes: RandomBytes = cryptoBytes): string {
  let out = "";
  while (out.length < n) {
    // 1/32 of the bytes are dropped on average: ask for a few more than needed (at most 64 KiB,
    // the most crypto.getRandomValues gives at once).
    const want = n - out.length;
    for (const b of randomBytes(Math.min(want + Math.ceil(want / 16) + 2, MAX_RANDOM_BYTES))) {
      if (b < BASE62_BYTE_LIMIT) out += BASE62[b % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBase62(ID_RANDOM_CHARS)}`;
}
