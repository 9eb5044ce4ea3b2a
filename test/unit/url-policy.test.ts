import { describe, expect, it } from "vitest";
import { checkOutboundUrl } from "../../src/security/url-policy";

const prod = { devMode: false };
const dev = { devMode: true };

const hostile: [string, string][] = [
  ["http://example.com/cb", "scheme_not_allowed"],
  ["ftp://example.com/cb", "scheme_not_allowed"],
  ["file:///etc/passwd", "scheme_not_allowed"],
  ["javascript:alert(1)", "scheme_not_allowed"],
  ["gopher://example.com/", "scheme_not_allowed"],
  ["not a url", "invalid_url"],
  ["/relative/path", "invalid_url"],
  ["https://user:pass@example.com/cb", "userinfo_not_allowed"],
  ["https://token@example.com/cb", "userinfo_not_allowed"],
  ["https://example.com:8443/cb", "port_not_allowed"],
  ["https://example.com:22/", "port_not_allowed"],
  ["https://127.0.0.1/", "loopback_address"],
  ["https://127.255.255.254/", "loopback_address"],
  ["https://2130706433/", "loopback_address"],
  ["https://0177.0.0.1/", "loopback_address"],
  ["https://0x7f.0.0.1/", "loopback_address"],
  ["https://0x7f000001/", "loopback_address"],
  ["https://127.1/", "loopback_address"],
  ["https://%31%32%37.0.0.1/", "loopback_address"],
  ["https://[::1]/", "loopback_address"],
  ["https://[0:0:0:0:0:0:0:1]/", "loopback_address"],
  ["https://[::ffff:127.0.0.1]/", "loopback_address"],
  ["https://[::ffff:7f00:1]/", "loopback_address"],
  ["https://10.0.0.1/", "private_address"],
  ["https://10.1/", "private_address"],
  ["https://167772161/", "private_address"],
  ["https://172.16.0.1/", "private_address"],
  ["https://172.31.255.255/", "private_address"],
  ["https://192.168.1.1/", "private_address"],
  ["https://0xc0.0xa8.0x01.0x01/", "private_address"],
  ["https://100.64.0.1/", "private_address"],
  ["https://100.127.255.254/", "private_address"],
  ["https://[fd00::1]/", "private_address"],
  ["https://[fc00::abcd]/", "private_address"],
  ["https://[::ffff:10.0.0.1]/", "private_address"],
  ["https://[64:ff9b::10.0.0.1]/", "private_address"],
  ["https://[2002:c0a8:0101::1]/", "private_address"],
  ["https://169.254.169.254/latest/meta-data", "link_local_address"],
  ["https://2852039166/", "link_local_address"],
  ["https://[fe80::1]/", "link_local_address"],
  ["https://[::ffff:169.254.169.254]/", "link_local_address"],
  ["https://0.0.0.0/", "reserved_address"],
  ["https://0/", "reserved_address"],
  ["https://[::]/", "reserved_address"],
  ["https://224.0.0.1/", "reserved_address"],
  ["https://239.255.255.250/", "reserved_address"],
  ["https://255.255.255.255/", "reserved_address"],
  ["https://240.0.0.1/", "reserved_address"],
  ["https://198.18.0.1/", "reserved_address"],
  ["https://[ff02::1]/", "reserved_address"],
  ["https://localhost/", "internal_hostname"],
  ["https://LOCALHOST./", "internal_hostname"],
  ["https://api.localhost/", "internal_hostname"],
  ["https://redis/", "internal_hostname"],
  ["https://metadata/computeMetadata", "internal_hostname"],
  ["https://metadata.google.internal/", "internal_hostname"],
  ["https://db.internal/", "internal_hostname"],
  ["https://printer.local/", "internal_hostname"],
  ["https://router.home.arpa/", "internal_hostname"],
  ["https://api.default.svc.cluster.local/", "internal_hostname"],
  [`https://example.com/${"a".repeat(2100)}`, "too_long"],
  // every IPv4 notation WHATWG URL accepts, and full-width digits (IDNA maps them)
  ["https://0177.1/", "loopback_address"],
  ["https://00000177.0.0.1/", "loopback_address"],
  ["https://0x7f000001./", "loopback_address"],
  ["https://127.0.0.1./", "loopback_address"],
  ["https://１２７.０.０.１/", "loopback_address"],
  ["https:/\\/127.0.0.1/", "loopback_address"],
  ["https://3232235777/", "private_address"],
  ["https://0300.0250.1.1/", "private_address"],
  ["https://0xa9fea9fe/", "link_local_address"],
  ["https://4294967295/", "reserved_address"],
  ["https://4294967296/", "invalid_url"],
  ["https://1.2.3.4.5/", "invalid_url"],
  // IPv6 that embeds IPv4 in every form, and the remaining special ranges
  ["https://[::127.0.0.1]/", "loopback_address"],
  ["https://[::ffff:0:7f00:1]/", "loopback_address"],
  ["https://[0::ffff:169.254.169.254]/", "link_local_address"],
  ["https://[::ffff:a00:1]/", "private_address"],
  ["https://[64:ff9b:1::a00:1]/", "private_address"],
  ["https://[2002:7f00:1::]/", "loopback_address"],
  ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "reserved_address"],
  ["https://[2001:db8::1]/", "reserved_address"],
  ["https://[3fff::1]/", "reserved_address"],
  ["https://[100::1]/", "reserved_address"],
  ["https://[fec0::1]/", "private_address"],
  ["https://[fd00:ec2::254]/", "private_address"],
  ["https://[febf::1]/", "link_local_address"],
  ["https://[fe80::1%25eth0]/", "invalid_url"],
  ["https://[::ffff:100.100.100.200]/", "private_address"],
  // cloud metadata and special IPv4 ranges
  ["https://168.63.129.16/", "reserved_address"],
  ["https://100.100.100.200/latest/meta-data", "private_address"],
  ["https://192.0.0.192/", "reserved_address"],
  ["https://192.88.99.1/", "reserved_address"],
  ["https://203.0.113.7/", "reserved_address"],
  // internal names, encoded and look-alike spellings of localhost, loopback and wildcard DNS
  ["https://loc%61lhost/", "internal_hostname"],
  ["https://%6c%6f%63%61%6c%68%6f%73%74/", "internal_hostname"],
  ["https://ⓛocalhost/", "internal_hostname"],
  ["https://localhost%2e/", "internal_hostname"],
  ["https://instance-data/latest", "internal_hostname"],
  ["https://kubernetes.default.svc/", "internal_hostname"],
  ["https://1.0.0.127.in-addr.arpa/", "internal_hostname"],
  ["https://vault.corp/", "internal_hostname"],
  ["https://nas.home/", "internal_hostname"],
  ["https://hidden.onion/", "internal_hostname"],
  ["https://app.test/", "internal_hostname"],
  ["https://localtest.me/", "loopback_address"],
  ["https://api.lvh.me/", "loopback_address"],
  ["https://127.0.0.1.nip.io/", "loopback_address"],
  ["https://10.0.0.1.nip.io/", "private_address"],
  ["https://app-192-168-1-1.sslip.io/", "private_address"],
  ["https://169.254.169.254.nip.io/", "link_local_address"],
  // Issue 17: bypasses of the name checks found by the 2026-12 review, each refused now.
  ["https://a.b.10.0.0.1.nip.io/", "private_address"], // several labels before the address
  ["https://0a000001.nip.io/", "private_address"], // nip.io's hex form
  ["https://app-7f000001.nip.io/", "loopback_address"], // hex after a prefix
  ["https://--1.sslip.io/", "loopback_address"], // sslip.io IPv6 (::1)
  ["https://fe80--1.sslip.io/", "link_local_address"],
  ["https://ffff-a9fe-a9fe.sslip.io/", "ambiguous_hostname"], // spells no one public address
  ["https://localhost.direct/", "loopback_address"],
  ["https://x.localhost.direct/", "loopback_address"],
  ["https://lacolhost.com/", "loopback_address"],
  ["https://make-127-0-0-1-rr.1u.ms/", "ambiguous_hostname"], // DNS-rebinding services
  ["https://7f000001.c0a80001.rbndr.us/", "ambiguous_hostname"],
  ["https://metadata.google.internal../", "internal_hostname"], // every trailing dot stripped
  ["https://localhost../", "internal_hostname"],
  ["https://intranet../", "internal_hostname"],
  ["https://[64:ff9b:1:a00:0:100:808:808]/", "reserved_address"], // NAT64 local-use 64:ff9b:1::/48
  // Issue 17: empty labels, and more bypasses of the same kinds found while fixing them.
  ["https://a..b.example.com/", "invalid_url"],
  ["https://.example.com/", "invalid_url"],
  ["https://ex%2e%2eample.com/", "invalid_url"],
  ["https://localhost\u3002\u3002/", "internal_hostname"], // ideographic full stops become dots
  ["https://x.app-10-0-0-1.sslip.io/", "private_address"], // dashed address after the first label
  ["https://a.b.192.168.1.1.example.com/", "private_address"], // any wildcard service, any position
  ["https://c0a80101.xip.io/", "private_address"],
  ["https://app-10-0-0-1.traefik.me/", "private_address"],
  ["https://nothing-here.nip.io/", "ambiguous_hostname"],
  ["https://1.1.1.1.10.0.0.1.nip.io/", "private_address"], // two addresses: any refused one wins
  ["https://fuf.me/", "loopback_address"],
  ["https://yoogle.com/", "loopback_address"],
  ["https://x.rebind.it/", "ambiguous_hostname"],
  ["https://a.1.2.3.4.1time.b.127.0.0.1.forever.rebind.network/", "ambiguous_hostname"],
  ["https://[64:ff9b:1::1]/", "reserved_address"],
  ["https://[5f00::1]/", "reserved_address"], // SRv6 SIDs, never routed on the internet
  // credentials and ports in other spellings
  ["https://:secret@example.com/", "userinfo_not_allowed"],
  ["https://user@127.0.0.1/", "userinfo_not_allowed"],
  ["https://example.com:0/", "port_not_allowed"],
  ["https://example.com:80/", "port_not_allowed"],
  ["http://example.com:443/", "scheme_not_allowed"],
  ["wss://example.com/", "scheme_not_allowed"],
  ["data:text/plain,hi", "scheme_not_allowed"],
];

const allowed = [
  "https://example.com/cb",
  "https://hooks.slack.com/services/T000/B000/XXXX",
  "https://example.com:443/cb?x=1&y=2#frag",
  "https://api.example.co.uk/v1/hooks/abc",
  "https://xn--bcher-kva.example/cb",
  "https://bücher.example/cb",
  "https://8.8.8.8/cb",
  "https://1.1.1.1/",
  "https://[2606:4700:4700::1111]/cb",
  "https://172.32.0.1/",
  "https://example.com./trailing-dot",
  "https://1.1.1.1.nip.io/",
  "https://[2001:4860:4860::8888]/",
  "https://[2a00:1450:4001:81b::200e]/",
  "https://100.63.255.255/",
  "https://100.128.0.1/",
  "https://169.253.255.255/",
  "https:example.com/no-slashes",
  "https://EXAMPLE.com/Path?Q=1",
  // Issue 17: what the stricter name checks still allow.
  "https://example.com../two-trailing-dots",
  "https://app-8-8-8-8.sslip.io/",
  "https://2606-4700-4700--1111.sslip.io/",
  "https://08080808.nip.io/",
  "https://deadbeef.example.com/", // hex labels spell addresses only on wildcard-DNS services
  "https://0a000001.example.com/",
  "https://release-1-2-3.example.com/",
  "https://v1.2.3.example.com/",
];

describe("outbound URL policy", () => {
  it.each(hostile)("refuses %s (%s)", (url, reason) => {
    const v = checkOutboundUrl(url, prod);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.reason).toBe(reason);
    expect(v.message.length).toBeGreaterThan(5);
    expect(v.message).not.toMatch(/pass|token@/);
  });

  it("has at least 40 hostile cases", () => expect(hostile.length).toBeGreaterThanOrEqual(40));

  it("gives back the normalised URL that is then stored and called", () => {
    const v = checkOutboundUrl("HTTPS://Example.COM:443/a/../b?x=1", prod);
    expect(v.ok && v.url.href).toBe("https://example.com/b?x=1");
  });

  it.each(allowed)("allows %s", (url) => {
    const v = checkOutboundUrl(url, prod);
    expect(v).toMatchObject({ ok: true });
  });

  it("in dev mode allows http and loopback, never private or metadata addresses", () => {
    expect(checkOutboundUrl("http://127.0.0.1:8082/hooks/x", dev).ok).toBe(true);
    expect(checkOutboundUrl("http://localhost:8787/cb", dev).ok).toBe(true);
    expect(checkOutboundUrl("http://[::1]:9000/", dev).ok).toBe(true);
    expect(checkOutboundUrl("http://10.0.0.1/", dev)).toMatchObject({ ok: false, reason: "private_address" });
    expect(checkOutboundUrl("http://169.254.169.254/", dev)).toMatchObject({
      ok: false,
      reason: "link_local_address",
    });
    expect(checkOutboundUrl("ftp://127.0.0.1/", dev)).toMatchObject({
      ok: false,
      reason: "scheme_not_allowed",
    });
  });
});
