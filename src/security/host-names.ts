/**
 * Host names for the outbound URL policy (url-policy.ts): what a name says about where it leads,
 * without DNS (a Worker cannot resolve names). Best effort by construction: these lists catch the
 * well-known names, not every name someone points at a private address (see docs/limits.md).
 *
 * - Internal names: localhost, single labels, internal suffixes (.internal, .local, .home.arpa, …).
 * - Public names that resolve to loopback (localtest.me, localhost.direct, …).
 * - DNS-rebinding services (rbndr.us, 1u.ms, …): their names answer whatever address was asked for,
 *   so none is allowed.
 * - Names that spell an address: dotted (`a.10.0.0.1.example.com`) or dashed (`app-10-0-0-1.x`)
 *   IPv4 in any position of any name; on IP-echo services (nip.io, sslip.io, …) also the hex
 *   (`0a000001.nip.io`) and dashed IPv6 (`fe80--1.sslip.io`) forms. Every address found must be
 *   allowed, and a name on an IP-echo service must spell exactly one: anything else is ambiguous.
 */
import {
  type Address,
  checkAddress,
  parseV6,
  refuse,
  type UrlPolicyMode,
  type UrlVerdict,
} from "./ip-ranges";

const INTERNAL_SUFFIXES = [
  ".localhost",
  ".internal",
  ".intranet",
  ".private",
  ".local",
  ".localdomain",
  ".home",
  ".home.arpa",
  ".lan",
  ".corp",
  ".svc",
  ".arpa",
  ".onion",
  ".alt",
  ".test",
  ".invalid",
];
/** Public DNS names that resolve to 127.0.0.1 (with every subdomain). */
const LOOPBACK_NAMES = [
  "localtest.me",
  "lvh.me",
  "vcap.me",
  "local.gd",
  "localhost.direct",
  "lacolhost.com",
  "fuf.me",
  "yoogle.com",
];
/** DNS-rebinding services: a name answers one address, then another (with every subdomain). */
const REBINDING_SERVICES = ["rbndr.us", "1u.ms", "rebind.it", "rebind.network"];
/** IP-echo (wildcard DNS) services: a name answers the address it spells (with every subdomain). */
const IP_ECHO_SERVICES = ["nip.io", "sslip.io", "xip.io", "xip.name", "traefik.me"];

const under = (host: string, names: string[]) => names.find((n) => host === n || host.endsWith(`.${n}`));

/** A refusal for a DNS name (no IP literal), or null when it may be called. */
export function checkName(host: string, mode: UrlPolicyMode): UrlVerdict | null {
  const labels = host.split(".");
  if (labels.some((l) => l === "")) return refuse("invalid_url", "host names have no empty labels");
  if (host === "localhost" || host.endsWith(".localhost")) {
    return mode.devMode ? null : refuse("internal_hostname", "localhost is not reachable from threadhook");
  }
  if (labels.length === 1 || INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) {
    return refuse("internal_hostname", `'${host}' looks like an internal host name`);
  }
  if (under(host, LOOPBACK_NAMES))
    return refuse("loopback_address", `'${host}' resolves to a loopback address`);
  if (under(host, REBINDING_SERVICES))
    return refuse("ambiguous_hostname", `'${host}' belongs to a DNS-rebinding service`);
  const echo = under(host, IP_ECHO_SERVICES);
  const prefix = echo ? labels.slice(0, -echo.split(".").length) : labels;
  const spelled = echo ? [...dottedV4(prefix), ...prefix.flatMap(echoLabelAddresses)] : dottedV4(labels);
  if (!echo) spelled.push(...labels.flatMap(dashedV4));
  // Spelled addresses are checked as production would, also in dev mode.
  for (const address of spelled) {
    const verdict = checkAddress(address, { devMode: false });
    if (verdict) return verdict;
  }
  if (echo && prefix.length > 0 && distinct(spelled) !== 1)
    return refuse("ambiguous_hostname", `'${host}' does not spell exactly one public address`);
  return null;
}

const byte = (s: string) => (/^\d{1,3}$/.test(s) && Number(s) <= 255 ? Number(s) : null);

/** Every four parts in a row that read as the bytes of an IPv4 address. */
function quads(parts: string[]): Address[] {
  const found: Address[] = [];
  for (let i = 0; i + 4 <= parts.length; i++) {
    const bytes = parts.slice(i, i + 4).map(byte);
    if (bytes.every((b) => b !== null)) found.push({ v4: bytes as number[] });
  }
  return found;
}

/** `a.10.0.0.1.nip.io`: four labels in a row. */
const dottedV4 = (labels: string[]) => quads(labels);
/** `app-10-0-0-1.sslip.io`: four dash-separated parts of one label. */
const dashedV4 = (label: string) => quads(label.split("-"));

/** On an IP-echo service: dashed IPv4, hex IPv4 (`0a000001`, `app-0a000001`) and dashed IPv6. */
function echoLabelAddresses(label: string): Address[] {
  const parts = label.split("-");
  const hex = parts
    .filter((p) => /^[0-9a-f]{8}$/.test(p))
    .map((p) => ({ v4: [0, 2, 4, 6].map((i) => parseInt(p.slice(i, i + 2), 16)) }));
  const v6 = dashedV6(parts);
  return [...dashedV4(label), ...hex, ...(v6 ? [{ v6 }] : [])];
}

/** `fe80--1`, `app-2606-4700--1111`: the longest run of dash-separated parts that is an IPv6 address. */
function dashedV6(parts: string[]): number[] | null {
  for (let length = parts.length; length >= 2; length--) {
    for (let start = 0; start + length <= parts.length; start++) {
      const words = parseV6(parts.slice(start, start + length).join(":"));
      if (words) return words;
    }
  }
  return null;
}

const distinct = (addresses: Address[]) => new Set(addresses.map((a) => JSON.stringify(a))).size;
