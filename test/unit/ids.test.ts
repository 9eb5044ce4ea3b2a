/** The one random-id generator (store/ids.ts): unbiased base62, and the shapes of ids and API keys. */
import { describe, expect, it } from "vitest";
import { generateApiKey, looksLikeApiKey } from "../../src/security/credentials";
import { BASE62, BASE62_BYTE_LIMIT, newId, randomBase62, type RandomBytes } from "../../src/store/ids";

/** A byte source that repeats `bytes`, and counts how many it handed out. */
function scripted(bytes: number[]) {
  let i = 0;
  const source: RandomBytes = (count) => Uint8Array.from({ length: count }, () => bytes[i++ % bytes.length]!);
  return { source, used: () => i };
}

describe("randomBase62", () => {
  it("maps bytes below 248 with % 62 and drops 248–255 (rejection sampling)", () => {
    expect(BASE62_BYTE_LIMIT).toBe(248);
    expect(BASE62).toHaveLength(62);
    expect(new Set(BASE62).size).toBe(62);
    const { source } = scripted([0, 61, 62, 247, 248, 255, 123, 200]);
    // 0→'0', 61→'z', 62→'0', 247→'z', 248 and 255 dropped, 123→'z', 200→'E' (200 - 3 × 62 = 14)
    expect(randomBase62(6, source)).toBe("0z0zzE");
  });

  it("every character comes from exactly four byte values", () => {
    const all = Array.from({ length: 256 }, (_, b) => b);
    const { source } = scripted(all);
    const out = randomBase62(BASE62_BYTE_LIMIT, source);
    const counts = new Map<string, number>();
    for (const ch of out) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    expect([...counts.values()].every((c) => c === 4)).toBe(true);
  });

  it("keeps drawing while the source gives only rejected bytes", () => {
    const { source, used } = scripted([255, 250, 248, 249, 7]);
    expect(randomBase62(3, source)).toBe("777");
    expect(used()).toBeGreaterThanOrEqual(15);
  });

  it("has no modulo bias: character counts over many draws pass a chi-square check", () => {
    const n = 62 * 2000;
    const counts = new Map<string, number>();
    for (const ch of randomBase62(n)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const expected = n / 62;
    const chi2 = [...counts.values()].reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 61 degrees of freedom: mean 61, sd 11; P(chi2 > 160) < 1e-9. A `% 62` over all 256 byte
    // values (chars '0'–'7' 25% likelier) scores about 800 here.
    expect(chi2).toBeLessThan(160);
    // The bias would show most in the first eight characters against the rest.
    const low = [..."01234567"].reduce((s, ch) => s + (counts.get(ch) ?? 0), 0) / 8;
    expect(Math.abs(low / expected - 1)).toBeLessThan(0.08);
  });
});

describe("ids and keys", () => {
  it("ids are the prefix, an underscore and 24 base62 characters, and differ", () => {
    const ids = new Set<string>();
    for (const prefix of [
      "asst",
      "thread",
      "run",
      "msg",
      "step",
      "call",
      "evt",
      "lease",
      "key",
      "whs",
    ] as const) {
      const id = newId(prefix);
      expect(id).toMatch(new RegExp(`^${prefix}_[0-9A-Za-z]{24}$`));
      ids.add(id);
    }
    for (let i = 0; i < 200; i++) ids.add(newId("run"));
    expect(ids.size).toBe(210);
  });

  it("API keys are thk_ and 32 base62 characters from the same generator", () => {
    const key = generateApiKey();
    expect(key).toMatch(/^thk_[0-9A-Za-z]{32}$/);
    expect(looksLikeApiKey(key)).toBe(true);
    expect(generateApiKey()).not.toBe(key);
  });
});
