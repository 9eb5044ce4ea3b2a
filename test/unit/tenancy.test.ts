/** Pure parts of issue 7: usage reports and costs, secret rotation, roles, key credentials. */
import { describe, expect, it } from "vitest";
import { issueKey } from "../../src/commands/tenants";
import { parseConfig } from "../../src/config";
import { monthOf, msToNextMonth, usageReport } from "../../src/engine/usage";
import {
  generateApiKey,
  generateWebhookSecret,
  looksLikeApiKey,
  secretProblem,
  sha256Hex,
} from "../../src/security/credentials";
import { roleAtLeast } from "../../src/security/roles";
import { liveSecrets, rotated } from "../../src/security/webhook-secrets";

describe("usage report", () => {
  it("sums per model and costs the priced ones", () => {
    const r = usageReport(
      "t",
      "2026-05",
      {
        runs: "3",
        input_tokens: "3000",
        output_tokens: "600",
        "runs|gpt-4.1": "2",
        "input_tokens|gpt-4.1": "2000",
        "output_tokens|gpt-4.1": "500",
        "runs|ft:gpt-4o:acme:x": "1",
        "input_tokens|ft:gpt-4o:acme:x": "1000",
        "output_tokens|ft:gpt-4o:acme:x": "100",
      },
      { "gpt-4.1": { input: 2, output: 8 } },
    );
    expect(r).toMatchObject({ runs: 3, input_tokens: 3000, output_tokens: 600, estimated_cost_usd: 0.008 });
    expect(r.models).toEqual([
      {
        model: "ft:gpt-4o:acme:x",
        runs: 1,
        input_tokens: 1000,
        output_tokens: 100,
        estimated_cost_usd: null,
      },
      { model: "gpt-4.1", runs: 2, input_tokens: 2000, output_tokens: 500, estimated_cost_usd: 0.008 },
    ]);
    expect(r.unpriced_models).toEqual(["ft:gpt-4o:acme:x"]);
  });

  it("knows UTC months", () => {
    const t = Date.UTC(2026, 11, 31, 23, 59, 59);
    expect(monthOf(t)).toBe("2026-12");
    expect(msToNextMonth(t)).toBe(1000);
  });
});

describe("webhook secret rotation", () => {
  const s = (id: string, expires: number | null) => ({
    id,
    secret: `whsec_${id}`,
    created_at_ms: 0,
    expires_at_ms: expires,
  });
  it("keeps older secrets live for the window, then only the new one", () => {
    const next = rotated([s("a", null)], s("b", null), 1000, 500);
    expect(next.map((x) => [x.id, x.expires_at_ms])).toEqual([
      ["a", 1500],
      ["b", null],
    ]);
    expect(liveSecrets(next, 1499).map((x) => x.id)).toEqual(["a", "b"]);
    expect(liveSecrets(next, 1500).map((x) => x.id)).toEqual(["b"]);
  });
  it("never extends an older secret's end and drops expired ones", () => {
    const next = rotated([s("a", 1200), s("b", 900), s("c", null)], s("d", null), 1000, 5000);
    expect(next.map((x) => [x.id, x.expires_at_ms])).toEqual([
      ["a", 1200],
      ["c", 6000],
      ["d", null],
    ]);
    expect(rotated([s("a", null)], s("b", null), 1000, 0).map((x) => x.id)).toEqual(["b"]);
  });
});

describe("roles and credentials", () => {
  it("orders roles member < editor < admin", () => {
    expect(roleAtLeast("admin", "editor")).toBe(true);
    expect(roleAtLeast("editor", "editor")).toBe(true);
    expect(roleAtLeast("member", "editor")).toBe(false);
  });
  it("makes distinct well-formed keys and secrets, and hashes keys", async () => {
    const keys = new Set(Array.from({ length: 200 }, generateApiKey));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(looksLikeApiKey(k) && /^thk_[A-Za-z0-9]{32}$/.test(k)).toBe(true);
    expect(looksLikeApiKey("thk_ with space")).toBe(false);
    expect(generateWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("generates keys and secrets that pass the config's own strength rule (24 characters of entropy)", () => {
    for (let i = 0; i < 200; i++) {
      expect(secretProblem(generateApiKey(), false)).toBeNull();
      expect(secretProblem(generateWebhookSecret().slice("whsec_".length), false)).toBeNull();
    }
  });
});

describe("config of issue 7", () => {
  const base = { THREADHOOK_ENV: "development", API_KEY: "k".repeat(32) };
  it("reads limits, quotas and the price table with defaults", () => {
    const r = parseConfig({
      ...base,
      MODEL_PRICES: '{"gpt-4.1":{"input":2,"output":8}}',
      MAX_ACTIVE_RUNS: "3",
    });
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.config.modelPrices).toEqual({ "gpt-4.1": { input: 2, output: 8 } });
    expect(r.config.tenantDefaults).toEqual({ maxActiveRuns: 3, monthlyRuns: 0, monthlyTokens: 0 });
    expect(r.config.rateLimitPerMin).toBe(600);
    expect(r.config.operatorKey).toBeNull();
  });
  it("refuses a bad price table, a short operator key and one equal to API_KEY", () => {
    const bad = parseConfig({ ...base, MODEL_PRICES: '{"m":{"input":"cheap"}}', OPERATOR_KEY: "short" });
    expect(bad.ok || bad.problems.map((p) => p.split(":")[0])).toEqual(["OPERATOR_KEY", "MODEL_PRICES"]);
    const same = parseConfig({ ...base, OPERATOR_KEY: "k".repeat(32) });
    expect(same.ok || same.problems).toEqual(["OPERATOR_KEY: must differ from API_KEY"]);
  });
});

describe("issuing keys (issue 17)", () => {
  const deps = (rateLimitPerMin: number) => {
    const stored: unknown[] = [];
    return {
      stored,
      deps: {
        tenants: { get: async () => null } as any,
        apiKeys: {
          put: async (k: unknown) => {
            stored.push(k);
            return true;
          },
        } as any,
        config: { webhookSecret: null, secretRotationWindowS: 60, rateLimitPerMin, maxKeysPerTenant: 10 },
        now: () => 0,
      },
    };
  };
  const issuer = (rateLimitPerMin: number | null, assistantIds: string[] | null = null) => ({
    tenant: "default",
    keyId: "key_issuer",
    role: "admin" as const,
    assistantIds,
    rateLimitPerMin,
  });
  const limitOf = async (
    d: ReturnType<typeof deps>,
    i: ReturnType<typeof issuer>,
    wanted?: number | null,
  ) => {
    try {
      return (await issueKey(d.deps, "default", { role: "member", rate_limit_per_min: wanted }, i))
        .rate_limit_per_min;
    } catch (err) {
      return `${(err as { status: number }).status} ${(err as { code: string }).code}`;
    }
  };

  it("compares limits with the configured default standing for null, and 0 as no limit", async () => {
    const d = deps(600);
    // An issuer on the default (600/min): up to 600, never 0 (unlimited); none given inherits null.
    expect(await limitOf(d, issuer(null), 600)).toBe(600);
    expect(await limitOf(d, issuer(null), 601)).toBe("403 rate_limit_not_allowed");
    expect(await limitOf(d, issuer(null), 0)).toBe("403 rate_limit_not_allowed");
    expect(await limitOf(d, issuer(null))).toBeNull();
    // An issuer with its own limit: null inherits it too (the default would be looser).
    expect(await limitOf(d, issuer(30), null)).toBe(30);
    expect(await limitOf(d, issuer(30), 31)).toBe("403 rate_limit_not_allowed");
    // With no default limit (0), a null issuer is unlimited and may hand out anything.
    const open = deps(0);
    expect(await limitOf(open, issuer(null), 0)).toBe(0);
    expect(await limitOf(open, issuer(5), 0)).toBe("403 rate_limit_not_allowed");
    // The operator is bound by none of it.
    expect(
      (await issueKey(d.deps, "default", { role: "admin", rate_limit_per_min: 0 }, "operator"))
        .rate_limit_per_min,
    ).toBe(0);
  });
});
