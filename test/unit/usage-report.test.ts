/** engine/usage.ts: a model whose counters were all taken back is not listed. */
import { describe, expect, it } from "vitest";
import { requireConfig } from "../../src/config";
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

describe("usage report with model names that are Object.prototype's", () => {
  const counters = {
    runs: "3",
    input_tokens: "3000",
    output_tokens: "3000",
    "runs|constructor": "1",
    "input_tokens|constructor": "1000",
    "output_tokens|constructor": "1000",
    "runs|__proto__": "1",
    "input_tokens|__proto__": "1000",
    "output_tokens|__proto__": "1000",
    "runs|m": "1",
    "input_tokens|m": "1000",
    "output_tokens|m": "1000",
  };

  it("costs the priced models and lists `constructor` and `__proto__` as unpriced", () => {
    const r = usageReport("t", "2026-05", counters, { m: { input: 1, output: 2 } });
    expect(r.estimated_cost_usd).toBe(0.003);
    expect(r.unpriced_models).toEqual(["__proto__", "constructor"]);
    expect(r.models.map((m) => [m.model, m.estimated_cost_usd])).toEqual([
      ["__proto__", null],
      ["constructor", null],
      ["m", 0.003],
    ]);
  });

  it("prices `constructor` and `__proto__` when the price table (MODEL_PRICES) names them", () => {
    const env = {
      MODEL_PRICES: '{"constructor":{"input":2,"output":2},"__proto__":{"input":3,"output":3}}',
    };
    const prices = requireConfig(env).modelPrices;
    const r = usageReport("t", "2026-05", counters, prices);
    expect(r.unpriced_models).toEqual(["m"]);
    expect(r.models.map((m) => [m.model, m.estimated_cost_usd])).toEqual([
      ["__proto__", 0.006],
      ["constructor", 0.004],
      ["m", null],
    ]);
    expect(r.estimated_cost_usd).toBe(0.01);
  });
});
