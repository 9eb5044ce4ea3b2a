/** engine/usage.ts: a model whose counters were all taken back is not listed. */
import { describe, expect, it } from "vitest";
import { usageReport } from "../../src/engine/usage";

describe("usage report", () => {
  it("leaves out models whose counters are all zero (their only runs were abandoned)", () => {
    const r = usageReport(
      "t",
      "2026-05",
      { runs: "1", "runs|gone": "0", "runs|kept": "1", "input_tokens|kept": "0", "output_tokens|kept": "0" },
      {},
    );
    expect(r.models.map((m) => m.model)).toEqual(["kept"]);
    expect(r.unpriced_models).toEqual(["kept"]);
  });
});
