/**
 * Outbound URL policy: the one place that decides whether threadhook may POST to a URL a caller
 * gave (callbacks, tool endpoints). Pure: no DNS, no I/O.
 *
 * - https only; http only in dev mode. No credentials in the URL. Default ports only outside dev.
 * - IP-literal hosts in private, loopback, link-local (incl. the 169.254.169.254 metadata address),
 *   CGNAT, multicast, reserved, benchmarking, documentation or unspecified ranges are refused, in
 *   every notation: WHATWG URL parsing already turns decimal, octal, hex and short IPv4 forms into
 *   dotted decimal, and IPv6 forms that embed IPv4 (mapped, compatible, NAT64, 6to4) are unpacked.
 * - Internal names (localhost, single labels, .internal, .local, .home.arpa, …) are refused.
 * - Dev mode allows loopback (the local stack runs on 127.0.0.1) but still refuses the rest.
 *
 * Not covered here: DNS rebinding (a public name resolving to a private address) — a Worker cannot
 * resolve names itself, and Cloudflare's egress does not reach private networks. Callers of this
 * module must fetch with `redirect: "manual"` so a redirect cannot lead elsewhere.
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
  | "too_long";
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: UrlRefusal; message: string };

const MAX_URL_LENGTH = 2048;
const INTERNAL_SUFFIXES = [
  ".localhost",
  ".internal",
  ".local",
  ".localdomain",
  ".home.arpa",
  ".svc",
  ".cluster.local",
  ".corp",
  ".lan",
  ".intranet",
];
const refuse = (reason: UrlRefusal, message: string): UrlVerdict => ({ ok: false, reason, message });

export function checkOutboundUrl(raw: string, mode: UrlPolicyMode): UrlVerdict {
  if (raw.length > MAX_URL_LENGTH)
    return refuse("too_long", `URLs are limited to ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("invalid_url", "not a valid absolute URL");
  }
  if (url.protocol !== "https:" && !(mode.devMode && url.protocol === "http:")) {
    return refuse(
      "scheme_not_allowed",
      mode.devMode ? "only http and https URLs are allowed" : "only https URLs are allowed",
    );
  }
  if (url.username || url.password)
    return refuse("userinfo_not_allowed", "URLs must not carry credentials (userinfo)");
  if (url.port && !mode.devMode) return refuse("port_not_allowed", "only the default port is allowed");
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const address = hostAddress(host);
  if (address) {
    const verdict = checkAddress(address, mode);
    return verdict ?? { ok: true, url };
  }
  if (host === "localhost" || host.endsWith(".localhost")) {
    return mode.devMode
      ? { ok: true, url }
      : refuse("internal_hostname", "localhost is not reachable from threadhook");
  }
  if (
    !host.includes(".") ||
    INTERNAL_SUFFIXES.some((s) => host.endsWith(s)) ||
    host === "metadata.google.internal"
  ) {
    return refuse("internal_hostname", `'${host}' looks like an internal host name`);
  }
  return { ok: true, url };
}

type Address = { v4: number[] } | { v6: number[] };

/** The IP address a hostname literally is, or null for a DNS name. */
function hostAddress(host: string): Address | null {
  if (host.startsWith("[") && host.endsWith("]")) {
    const v6 = parseV6(host.slice(1, -1));
    return v6 ? { v6 } : null;
  }
  const parts = host.split(".");
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255))
    return { v4: parts.map(Number) };
  return null;
}

/** An IPv6 literal as WHATWG URL leaves it: hex words, at most one `::`, embedded IPv4 already in hex. */
function parseV6(text: string): number[] | null {
  const [head = "", rest] = text.split("::");
  const words = (x: string) =>
    x ? x.split(":").map((w) => (/^[0-9a-f]{1,4}$/.test(w) ? parseInt(w, 16) : -1)) : [];
  const a = words(head);
  const b = rest === undefined ? [] : words(rest);
  const fill = 8 - a.length - b.length;
  if (fill < 0 || (rest === undefined && fill !== 0)) return null;
  const out = [...a, ...new Array<number>(fill).fill(0), ...b];
  return out.every((w) => w >= 0) ? out : null;
}

function checkAddress(address: Address, mode: UrlPolicyMode): UrlVerdict | null {
  if ("v4" in address) return checkV4(address.v4, mode);
  const w = address.v6;
  const embedded = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  const zeroPrefix = (n: number) => w.slice(0, n).every((x) => x === 0);
  if (zeroPrefix(5) && w[5] === 0xffff) return checkV4(embedded(w[6] ?? 0, w[7] ?? 0), mode); // ::ffff:a.b.c.d
  if (zeroPrefix(6) && !(w[6] === 0 && (w[7] ?? 0) <= 1))
    return checkV4(embedded(w[6] ?? 0, w[7] ?? 0), mode); // ::a.b.c.d
  if (w[0] === 0x64 && w[1] === 0xff9b) return checkV4(embedded(w[6] ?? 0, w[7] ?? 0), mode); // NAT64
  if (w[0] === 0x2002) return checkV4(embedded(w[1] ?? 0, w[2] ?? 0), mode); // 6to4
  if (w.every((x, i) => x === (i === 7 ? 1 : 0)))
    return mode.devMode ? null : refuse("loopback_address", "loopback addresses are not allowed");
  if (w.every((x) => x === 0)) return refuse("reserved_address", "the unspecified address is not allowed");
  const first = w[0] ?? 0;
  if ((first & 0xffc0) === 0xfe80)
    return refuse("link_local_address", "link-local addresses are not allowed");
  if ((first & 0xfe00) === 0xfc00)
    return refuse("private_address", "unique-local (private) IPv6 addresses are not allowed");
  if ((first & 0xff00) === 0xff00) return refuse("reserved_address", "multicast addresses are not allowed");
  if (first === 0x2001 && w[1] === 0x0db8)
    return refuse("reserved_address", "documentation addresses are not allowed");
  if ((first & 0xffc0) === 0xfec0)
    return refuse("private_address", "site-local IPv6 addresses are not allowed");
  return null;
}

const V4_RANGES: [number[], number, UrlRefusal, string][] = [
  [[0, 0, 0, 0], 8, "reserved_address", "'this network' addresses are not allowed"],
  [[10, 0, 0, 0], 8, "private_address", "private addresses are not allowed"],
  [[100, 64, 0, 0], 10, "private_address", "carrier-grade NAT addresses are not allowed"],
  [[169, 254, 0, 0], 16, "link_local_address", "link-local addresses (incl. cloud metadata) are not allowed"],
  [[172, 16, 0, 0], 12, "private_address", "private addresses are not allowed"],
  [[192, 0, 0, 0], 24, "reserved_address", "IETF protocol addresses are not allowed"],
  [[192, 0, 2, 0], 24, "reserved_address", "documentation addresses are not allowed"],
  [[192, 168, 0, 0], 16, "private_address", "private addresses are not allowed"],
  [[198, 18, 0, 0], 15, "reserved_address", "benchmarking addresses are not allowed"],
  [[198, 51, 100, 0], 24, "reserved_address", "documentation addresses are not allowed"],
  [[203, 0, 113, 0], 24, "reserved_address", "documentation addresses are not allowed"],
  [[224, 0, 0, 0], 4, "reserved_address", "multicast addresses are not allowed"],
  [[240, 0, 0, 0], 4, "reserved_address", "reserved and broadcast addresses are not allowed"],
];

function checkV4(b: number[], mode: UrlPolicyMode): UrlVerdict | null {
  const n = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
  if (b[0] === 127)
    return mode.devMode ? null : refuse("loopback_address", "loopback addresses are not allowed");
  for (const [base, bits, reason, message] of V4_RANGES) {
    const start =
      (((base[0] ?? 0) << 24) | ((base[1] ?? 0) << 16) | ((base[2] ?? 0) << 8) | (base[3] ?? 0)) >>> 0;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === start) return refuse(reason, message);
  }
  return null;
}
