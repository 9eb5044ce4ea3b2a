/** Seeded random request bodies for the fuzz test: junk, near-misses of valid bodies, hostile text. */

/** mulberry32: small, fast, seeded. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick, chance: (p: number) => next() < p };
}
export type Rng = ReturnType<typeof rng>;

const ODD_STRINGS = [
  "",
  " ",
  "null",
  "__proto__",
  "constructor",
  "toString",
  "\u0000",
  "\ud800",
  "😀".repeat(40),
  "a".repeat(300),
  "x".repeat(70_000),
  "<script>alert(1)</script>",
  "../../etc/passwd",
  "' OR 1=1 --",
  "%00%2e%2e",
  "http://169.254.169.254/latest",
  "https://example.com/cb",
  "thread_x",
  "asst_x",
  "run_x",
  "$" + "{jndi:ldap://x}",
  "\r\nX-Injected: 1",
];
const ODD_NUMBERS = [0, -1, 1, 0.5, -0.0, 1e308, -1e308, 2 ** 53 + 1, 16, 1_000_001, 2.5e-7];

function randomString(r: Rng): string {
  if (r.chance(0.4)) return r.pick(ODD_STRINGS);
  const n = r.int(24);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCodePoint(r.chance(0.8) ? 32 + r.int(95) : r.int(0x2ffff));
  return s;
}

export function randomValue(r: Rng, depth = 0, keys: string[] = []): unknown {
  const kind = depth > 4 ? r.int(5) : r.int(7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(ODD_NUMBERS);
    case 3:
    case 4:
      return randomString(r);
    case 5:
      return Array.from({ length: r.int(5) }, () => randomValue(r, depth + 1, keys));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(6); i > 0; i--) {
        const k = keys.length > 0 && r.chance(0.6) ? r.pick(keys) : randomString(r);
        o[k] = randomValue(r, depth + 1, keys);
      }
      return o;
    }
  }
}

/** Change one thing in a valid body: a field's value or type, a missing or extra field. */
function mutate(r: Rng, valid: Record<string, unknown>): unknown {
  const copy: Record<string, unknown> = structuredClone(valid);
  const keys = Object.keys(copy);
  const k = keys.length > 0 ? r.pick(keys) : "x";
  switch (r.int(4)) {
    case 0:
      copy[k] = randomValue(r, 2, keys);
      break;
    case 1:
      delete copy[k];
      break;
    case 2:
      copy[randomString(r)] = randomValue(r, 2, keys);
      break;
    default:
      copy[k] = [copy[k], copy[k]];
  }
  return copy;
}

/** Body texts that are not JSON, or JSON meant to hurt the parser. */
function hostileText(r: Rng, valid: string): string {
  switch (r.int(8)) {
    case 0:
      return valid.slice(0, r.int(valid.length));
    case 1:
      return `${"[".repeat(50 + r.int(5000))}`;
    case 2:
      return `{"a":${"[".repeat(40)}1${"]".repeat(40)}}`;
    case 3:
      return `\ufeff${valid}`;
    case 4:
      return valid.replace(/"/g, "'");
    case 5:
      return `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}`;
    case 6:
      return Array.from({ length: r.int(200) }, () => String.fromCharCode(r.int(256))).join("");
    default:
      return `${valid.slice(0, -1)},"dup":1,"dup":2}`;
  }
}

/** One fuzz body for a route whose valid body is `valid` (or undefined for routes without one). */
export function fuzzBody(r: Rng, valid: unknown): string {
  const base = (valid && typeof valid === "object" ? valid : {}) as Record<string, unknown>;
  const text = JSON.stringify(base);
  const roll = r.next();
  if (roll < 0.003) return JSON.stringify({ ...base, padding: "p".repeat(1_100_000) });
  if (roll < 0.35) return JSON.stringify(mutate(r, base));
  if (roll < 0.65) return JSON.stringify(randomValue(r, 0, Object.keys(base)));
  if (roll < 0.9) return hostileText(r, text);
  return JSON.stringify(mutate(r, mutate(r, base) as Record<string, unknown>));
}

/** Percent-encoding that survives lone surrogates (sent as U+FFFD). */
const encode = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "\ufffd"));

/** A query string for list-like routes: odd limits, orders, cursors, months. */
export function fuzzQuery(r: Rng): string {
  const params = ["limit", "order", "after", "before", "month", "x"];
  const parts = Array.from({ length: r.int(4) }, () => {
    const v = r.chance(0.5) ? String(r.pick(ODD_NUMBERS)) : randomString(r).slice(0, 200);
    return `${r.pick(params)}=${encode(v)}`;
  });
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** An id segment that is not a real id. */
export function fuzzId(r: Rng): string {
  return encode(randomString(r).slice(0, 300)) || "%20";
}
