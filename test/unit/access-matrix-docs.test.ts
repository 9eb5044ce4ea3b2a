/**
 * docs/tenants.md shows the role × scope × route matrix exactly as the route table computes it
 * (test/support/access-matrix.ts), so the docs cannot drift from what test/http/access-matrix.test.ts
 * checks against the app. Regenerate with `npm run docs:access`.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MATRIX_END, MATRIX_START, renderMatrix } from "../support/access-matrix";
import { ADMIN_ROUTES, ROUTES } from "../support/routes";

/** Table rows as lists of trimmed cells (the formatter pads columns; separators become "---"). */
const rows = (block: string) =>
  block
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .map((l) =>
      l
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim())
        .map((c) => (/^-+$/.test(c) ? "---" : c)),
    );

describe("docs/tenants.md access matrix", () => {
  it("is the matrix the route table computes (npm run docs:access writes it)", () => {
    const doc = readFileSync(new URL("../../docs/tenants.md", import.meta.url), "utf8");
    const start = doc.indexOf(MATRIX_START);
    const end = doc.indexOf(MATRIX_END);
    expect(start, "docs/tenants.md has the matrix markers").toBeGreaterThanOrEqual(0);
    const shown = rows(doc.slice(start, end));
    expect(shown).toEqual(rows(renderMatrix()));
    expect(shown).toHaveLength(2 + ROUTES.length + ADMIN_ROUTES.length);
  });
});
