/**
 * IP addresses for the outbound URL policy (url-policy.ts): parsing the IPv6 form WHATWG URL leaves,
 * and the ranges threadhook never calls — private, loopback, link-local (cloud metadata included),
 * CGNAT, multicast, reserved, benchmarking, documentation, unspecified — with IPv6 forms that embed
 * an IPv4 address (mapped, translated, compatible, NAT64, 6to4) checked as that IPv4 address. Pure.
 */
export type UrlPolicyMode = { devMode: boolean };
export type UrlRefusal =
  | "invalid_url"
  | "scheme_not_allowed"
  | "userinfo_not_allowed"
  | "port_not_allowed"
  | "private_address"
  | "loopback_address"
  | "link_local_address"
  | "reserved_address"
  | "internal_hostname"
  | "ambiguous_hostname"
  | "too_long";
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: UrlRefusal; message: string };
export type Address = { v4: number[] } | { v6: number[] };

export const refuse = (reason: UrlRefusal, message: string): UrlVerdict => ({ ok: false, reason, message });

/** An IPv6 literal as WHATWG URL leaves it: hex words, at most one `::`, embedded IPv4 already in hex. */
export function parseV6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const [head = "", rest] = halves;
  const words = (x: string) =>
    x ? x.split(":").map((w) => (/^[0-9a-f]{1,4}$/.test(w) ? parseInt(w, 16) : -1)) : [];
  const a = words(head);
  const b = rest === undefined ? [] : words(rest);
  const fill = 8 - a.length - b.length;
  if (fill < 0 || (rest === undefined && fill !== 0)) return null;
  const out = [...a, ...new Array<number>(fill).fill(0), ...b];
  return out.every((w) => w >= 0) ? out : null;
}

/** A refusal for an address, or null when it may be called. */
export function checkAddress(address: Address, mode: UrlPolicyMode): UrlVerdict | null {
  return "v4" in address ? checkV4(address.v4, mode) : checkV6(address.v6, mode);
}

const bytesOf = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];

/** IPv6 forms that carry an IPv4 address: the embedded address decides. */
function embeddedV4(w: number[]): number[] | null {
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const low = bytesOf(w[6] ?? 0, w[7] ?? 0);
  if (zero(0, 5) && w[5] === 0xffff) return low; // ::ffff:a.b.c.d (mapped)
  if (zero(0, 4) && w[4] === 0xffff && w[5] === 0) return low; // ::ffff:0:a.b.c.d (translated)
  if (zero(0, 6) && !(w[6] === 0 && (w[7] ?? 0) <= 1)) return low; // ::a.b.c.d (compatible)
  if (w[0] === 0x64 && w[1] === 0xff9b && zero(2, 6)) return low; // 64:ff9b::/96 (NAT64)
  if (w[0] === 0x2002) return bytesOf(w[1] ?? 0, w[2] ?? 0); // 2002::/16 (6to4)
  return null;
}

/** [first word, mask of the first word, second word or null, reason, message] */
const V6_RANGES: [number, number, number | null, UrlRefusal, string][] = [
  [0xfe80, 0xffc0, null, "link_local_address", "link-local addresses are not allowed"],
  [0xfc00, 0xfe00, null, "private_address", "unique-local (private) IPv6 addresses are not allowed"],
  [0xfec0, 0xffc0, null, "private_address", "site-local IPv6 addresses are not allowed"],
  [0xff00, 0xff00, null, "reserved_address", "multicast addresses are not allowed"],
  [0x2001, 0xffff, 0x0db8, "reserved_address", "documentation addresses are not allowed"],
  [0x3fff, 0xffff, null, "reserved_address", "documentation addresses are not allowed"],
  [0x0100, 0xffff, 0x0000, "reserved_address", "discard-only addresses are not allowed"],
  [0x5f00, 0xffff, null, "reserved_address", "SRv6 segment identifiers are not allowed"],
];

function checkV6(w: number[], mode: UrlPolicyMode): UrlVerdict | null {
  const v4 = embeddedV4(w);
  if (v4) return checkV4(v4, mode);
  // The rest of 64:ff9b::/32, 64:ff9b:1::/48 (RFC 8215) included, is NAT64 for local use only.
  if (w[0] === 0x64 && w[1] === 0xff9b)
    return (
      checkV4(bytesOf(w[6] ?? 0, w[7] ?? 0), mode) ??
      refuse("reserved_address", "local-use NAT64 addresses are not allowed")
    );
  if (w.every((x, i) => x === (i === 7 ? 1 : 0)))
    return mode.devMode ? null : refuse("loopback_address", "loopback addresses are not allowed");
  if (w.every((x) => x === 0)) return refuse("reserved_address", "the unspecified address is not allowed");
  const [first = 0, second = 0] = w;
  // 2001::/23: IETF protocol assignments (Teredo 2001::/32 embeds a hidden IPv4 address).
  if (first === 0x2001 && second < 0x0200)
    return refuse("reserved_address", "IETF protocol addresses (incl. Teredo) are not allowed");
  for (const [word, mask, next, reason, message] of V6_RANGES) {
    if ((first & mask) === word && (next === null || second === next)) return refuse(reason, message);
  }
  return null;
}

const V4_RANGES: [number[], number, UrlRefusal, string][] = [
  [[0, 0, 0, 0], 8, "reserved_address", "'this network' addresses are not allowed"],
  [[10, 0, 0, 0], 8, "private_address", "private addresses are not allowed"],
  [[100, 64, 0, 0], 10, "private_address", "carrier-grade NAT addresses are not allowed"],
  [[169, 254, 0, 0], 16, "link_local_address", "link-local addresses (incl. cloud metadata) are not allowed"],
  [[168, 63, 129, 16], 32, "reserved_address", "cloud platform (metadata) addresses are not allowed"],
  [[172, 16, 0, 0], 12, "private_address", "private addresses are not allowed"],
  [[192, 0, 0, 0], 24, "reserved_address", "IETF protocol addresses are not allowed"],
  [[192, 0, 2, 0], 24, "reserved_address", "documentation addresses are not allowed"],
  [[192, 88, 99, 0], 24, "reserved_address", "6to4 relay addresses are not allowed"],
  [[192, 168, 0, 0], 16, "private_address", "private addresses are not allowed"],
  [[198, 18, 0, 0], 15, "reserved_address", "benchmarking addresses are not allowed"],
  [[198, 51, 100, 0], 24, "reserved_address", "documentation addresses are not allowed"],
  [[203, 0, 113, 0], 24, "reserved_address", "documentation addresses are not allowed"],
  [[224, 0, 0, 0], 4, "reserved_address", "multicast addresses are not allowed"],
  [[240, 0, 0, 0], 4, "reserved_address", "reserved and broadcast addresses are not allowed"],
];

const toInt = (b: number[]) =>
  (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;

function checkV4(b: number[], mode: UrlPolicyMode): UrlVerdict | null {
  if (b[0] === 127)
    return mode.devMode ? null : refuse("loopback_address", "loopback addresses are not allowed");
  const n = toInt(b);
  for (const [base, bits, reason, message] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === toInt(base)) return refuse(reason, message);
  }
  return null;
}
