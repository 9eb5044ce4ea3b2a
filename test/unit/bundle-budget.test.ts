/** The bundle budget `npm run check` enforces (scripts/bundle-check.ts) passes and fails on size. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BUNDLE_BUDGET_KIB, measure } from "../../scripts/bundle-check.ts";

describe("bundle budget", () => {
  it("is 600 KiB gzipped", () => expect(BUNDLE_BUDGET_KIB).toBe(600));

  it("passes a script that compresses under the budget and fails one that does not", () => {
    const small = measure(Buffer.alloc(2 * 1024 * 1024, "a")); // 2 MiB that gzips to a few KiB
    expect(small.ok).toBe(true);
    expect(small.rawKiB).toBe(2048);
    const incompressible = measure(randomBytes(700 * 1024)); // random bytes do not compress
    expect(incompressible.gzipKiB).toBeGreaterThan(600);
    expect(incompressible.ok).toBe(false);
    expect(measure(randomBytes(700 * 1024), 800).ok).toBe(true);
  });
});
