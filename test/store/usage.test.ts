/**
 * UsageStore and the usage report against the Upstash REST stand-in: what the run scripts count is
 * what a tenant's month reports, with costs from the price table.
 */
import { describe, expect, it } from "vitest";
import { readUsage } from "../../src/commands/usage";
import { monthOf } from "../../src/engine/usage";
import { newId } from "../../src/store/ids";
import { keys } from "../../src/store/keys";
import { type CreateOptions, RunStore } from "../../src/store/runs";
import { UsageStore } from "../../src/store/usage";
import { useStoreRedis } from "../support/redis-rest";
import { defaults, makeRun, starter, TENANT } from "./fixtures";

const ctx = useStoreRedis();
const opts: CreateOptions = { mode: "queue", expectedHeld: [], newMessages: [], thread: null };
const prices = { modelPrices: { "gpt-priced": { input: 2, output: 8 } } };

async function ran(runs: RunStore, model: string, now: number, input: number, output: number) {
  const run = makeRun(newId("thread"), { model, now });
  await runs.create(run, null, opts);
  const usage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
  await runs.releaseThread({ ...run, usage }, null, starter().start);
  return run;
}

describe("usage", () => {
  it("reports the month's runs and tokens per model, costing the priced ones", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const usage = new UsageStore(ctx.redis);
    const now = Date.UTC(2031, 2, 15);
    await ran(runs, "gpt-priced", now, 1000, 500);
    await ran(runs, "gpt-priced", now, 3000, 0);
    await ran(runs, "gpt-unpriced", now, 10, 20);
    await ran(runs, "gpt-priced", Date.UTC(2031, 3, 1), 7, 7); // next month

    expect(await usage.counters(TENANT, "2031-03")).toEqual({
      runs: "3",
      input_tokens: "4010",
      output_tokens: "520",
      "runs|gpt-priced": "2",
      "input_tokens|gpt-priced": "4000",
      "output_tokens|gpt-priced": "500",
      "runs|gpt-unpriced": "1",
      "input_tokens|gpt-unpriced": "10",
      "output_tokens|gpt-unpriced": "20",
    });
    const report = await readUsage({ usage, config: prices }, TENANT, "2031-03");
    expect(report).toMatchObject({
      object: "usage",
      tenant: TENANT,
      month: "2031-03",
      runs: 3,
      input_tokens: 4010,
      output_tokens: 520,
      // (4000 × 2 + 500 × 8) / 1e6
      estimated_cost_usd: 0.012,
      unpriced_models: ["gpt-unpriced"],
    });
    expect(report.models.map((m) => [m.model, m.runs, m.estimated_cost_usd])).toEqual([
      ["gpt-priced", 2, 0.012],
      ["gpt-unpriced", 1, null],
    ]);
    expect((await readUsage({ usage, config: prices }, TENANT, "2031-04")).runs).toBe(1);
  });

  it("an abandoned run is taken back: neither counted nor listed", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const usage = new UsageStore(ctx.redis);
    const now = Date.now();
    await ran(runs, "gpt-priced", now, 100, 100);
    const run = makeRun(newId("thread"), { model: "gpt-other", now });
    await runs.create(run, null, opts);
    await runs.abandon(run, null, opts, starter().start);
    const report = await readUsage({ usage, config: prices }, TENANT, monthOf(now));
    expect(report.runs).toBe(1);
    expect(report.models.map((m) => m.model)).toEqual(["gpt-priced"]);
    expect(report.unpriced_models).toEqual([]);
  });

  it("a response that ends after its run was counted adds its tokens once; before, the release counts them", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const usage = new UsageStore(ctx.redis);
    const now = Date.UTC(2031, 5, 15);
    const month = monthOf(now);
    const run = makeRun(newId("thread"), { model: "gpt-priced", now });
    await runs.create(run, null, opts);
    const grown = (r: typeof run, by: number, estimated = 0) => ({
      ...r,
      usage: {
        prompt_tokens: r.usage.prompt_tokens + by,
        completion_tokens: r.usage.completion_tokens + by,
        total_tokens: r.usage.total_tokens + 2 * by,
      },
      upstream: {
        ...r.upstream,
        estimated: Array.from({ length: estimated }, (_, i) => ({
          key: `0.${i}`,
          input_tokens: 1,
          output_tokens: 1,
        })),
      },
    });
    // Not released yet: nothing added here, the run's usage (which holds it) is counted at release.
    const early = grown(run, 10, 1);
    expect(await runs.countLateUsage(run, early, "resp_early")).toBe(false);
    await runs.releaseThread(early, null, starter().start);
    // After the release: a stray response's tokens reach the month, once however often it comes.
    const late = grown(early, 5, 1);
    expect(await runs.countLateUsage(early, late, "resp_late")).toBe(true);
    expect(await runs.countLateUsage(early, late, "resp_late")).toBe(false);
    const report = await readUsage({ usage, config: prices }, TENANT, month);
    expect(report).toMatchObject({ input_tokens: 15, output_tokens: 15, estimated_responses: 1 });
    expect(report.models[0]).toMatchObject({ model: "gpt-priced", input_tokens: 15, output_tokens: 15 });
  });

  it("a month without usage is all zero", async () => {
    const report = await readUsage({ usage: new UsageStore(ctx.redis), config: prices }, TENANT, "2020-01");
    expect(report).toEqual({
      object: "usage",
      tenant: TENANT,
      month: "2020-01",
      runs: 0,
      input_tokens: 0,
      output_tokens: 0,
      estimated_responses: 0,
      unknown_responses: 0,
      estimated_cost_usd: 0,
      unpriced_models: [],
      models: [],
    });
    expect(await new UsageStore(ctx.redis).counters("nobody", "2020-01")).toEqual({});
  });
});

describe("token quota at a run's start", () => {
  it("says the limit once the month's tokens reach it: the tenant's own limit, else the default", async () => {
    const runs = new RunStore(ctx.redis, defaults());
    const usage = new UsageStore(ctx.redis);
    const now = Date.UTC(2032, 4, 15);
    const month = monthOf(now);
    expect(await usage.tokenQuotaReached(TENANT, month, 100)).toBeNull();
    await ran(runs, "gpt-priced", now, 60, 30);
    expect(await usage.tokenQuotaReached(TENANT, month, 100)).toBeNull();
    expect(await usage.tokenQuotaReached(TENANT, month, 90)).toBe(90);
    expect(await usage.tokenQuotaReached(TENANT, month, 0)).toBeNull();
    await ctx.redis.hset(keys.tenant(TENANT), { monthly_tokens: "50" });
    expect(await usage.tokenQuotaReached(TENANT, month, 0)).toBe(50);
    await ctx.redis.hset(keys.tenant(TENANT), { monthly_tokens: "" });
    expect(await usage.tokenQuotaReached(TENANT, month, 1000)).toBeNull();
  });
});
