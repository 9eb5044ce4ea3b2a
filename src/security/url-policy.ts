/**
 * Outbound URL policy: the one place that decides whether threadhook may POST to a URL a caller
 * gave (callbacks, tool endpoints). Checked when the URL is accepted and again before each send.
 * Pure: no DNS, no I/O.
 *
 * - https only; http only in dev mode. No credentials in the URL. Default ports only outside dev.
 * - IP-literal hosts in a refused range are refused in every notation (ip-ranges.ts): WHATWG URL
 *   parsing already turns decimal, octal, hex, short and full-width IPv4 forms into dotted decimal.
 * - Names: every trailing dot is stripped, empty labels are refused, and internal names, names that
 *   resolve to loopback, DNS-rebinding services and names that spell a refused address are refused
 *   (host-names.ts, best effort).
 * - Dev mode allows loopback (the local stack runs on 127.0.0.1) but still refuses the rest.
 *
 * Not covered here: DNS in general (a public name resolving to a private address) — a Worker cannot
 * resolve names itself; on Cloudflare that guarantee comes from its egress, which does not reach
 * private networks. Senders fetch with `redirect: "manual"`, so a redirect cannot lead elsewhere.
 */
import { checkName } from "./host-names";
import {
  type Address,
  checkAddress,
  parseV6,
  refuse,
  type UrlPolicyMode,
  type UrlVerdict,
} from "./ip-ranges";

export type { UrlPolicyMode, UrlRefusal, UrlVerdict } from "./ip-ranges";

const MAX_URL_LENGTH = 2048;

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
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");
  const address = hostAddress(host);
  const verdict = address ? checkAddress(address, mode) : checkName(host, mode);
  return verdict ?? { ok: true, url };
}

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
