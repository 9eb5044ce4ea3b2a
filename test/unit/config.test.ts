import { describe, expect, it } from "vitest";
import { parseConfig, requireService } from "../../src/config";

const full = {
  THREADHOOK_ENV: "production",
  API_KEY: "thk_q8ZrT2vLx0Wm4Nc7Yb1Hs9Kd3Pf6Ga5E",
  PUBLIC_URL: "https://threadhook.example.workers.dev",
  WEBHOOK_SECRET: "whsec_dGhyZWFkaG9vay1kZXYtd2ViaG9vay1zZWNyZXQtMDE=",
  UPSTASH_REDIS_REST_URL: "https://eu1-x.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "tok",
  QSTASH_TOKEN: "qt",
  QSTASH_CURRENT_SIGNING_KEY: "sig_a",
  QSTASH_NEXT_SIGNING_KEY: "sig_b",
  OPENAI_API_KEY: "sk-test",
};

describe("config", () => {
  it("parses a complete production env with defaults", () => {
    const r = parseConfig(full);
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.config.devMode).toBe(false);
    expect(r.config.qstash?.url).toBe("https://qstash.upstash.io");
    expect(r.config.openai?.baseURL).toBe("https://api.openai.com/v1");
    expect(r.config.runTimeoutS).toBe(600);
  });

  it("reads ALLOWED_MODELS as a comma-separated list (none: any model)", () => {
    const listed = parseConfig({ ...full, ALLOWED_MODELS: "gpt-4.1, gpt-4.1-mini" });
    if (!listed.ok) throw new Error(listed.problems.join());
    expect(listed.config.allowedModels).toEqual(["gpt-4.1", "gpt-4.1-mini"]);
    const any = parseConfig(full);
    if (!any.ok) throw new Error(any.problems.join());
    expect(any.config.allowedModels).toEqual([]);
    const bad = parseConfig({ ...full, ALLOWED_MODELS: "gpt-4.1,,x" });
    expect(bad.ok ? [] : bad.problems).toEqual([expect.stringMatching(/^ALLOWED_MODELS: /)]);
  });

  it("lists every bad or missing variable in one result", () => {
    const r = parseConfig({
      ...full,
      THREADHOOK_ENV: "staging",
      UPSTASH_REDIS_REST_URL: "not a url",
      WEBHOOK_SECRET: "plain",
      DRIVE_BUDGET_MS: "-5",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const vars = r.problems.map((p) => p.split(":")[0]);
    expect(vars).toEqual(
      expect.arrayContaining([
        "THREADHOOK_ENV",
        "UPSTASH_REDIS_REST_URL",
        "WEBHOOK_SECRET",
        "DRIVE_BUDGET_MS",
      ]),
    );
  });

  it("reports a half-configured service and never echoes secret values", () => {
    const r = parseConfig({ ...full, QSTASH_NEXT_SIGNING_KEY: undefined });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      "QSTASH_NEXT_SIGNING_KEY: missing (the other variables of its group are set)",
    ]);
    expect(JSON.stringify(r.problems)).not.toContain("sig_a");
  });

  it("refuses DEV_DIE_AT outside development, and takes only its named points", () => {
    const prod = parseConfig({ ...full, DEV_DIE_AT: "after_run_written" });
    expect(prod.ok).toBe(false);
    if (!prod.ok) expect(prod.problems).toEqual([expect.stringMatching(/^DEV_DIE_AT: only in development/)]);
    const dev = parseConfig({ ...full, THREADHOOK_ENV: "development", DEV_DIE_AT: "after_run_written" });
    expect(dev.ok && dev.config.devDieAt).toBe("after_run_written");
    expect(parseConfig({ ...full, THREADHOOK_ENV: "development", DEV_DIE_AT: "nowhere" }).ok).toBe(false);
    const none = parseConfig(full);
    expect(none.ok && none.config.devDieAt).toBeNull();
  });

  it("refuses the webhook drive strategy without the OpenAI webhook secret", () => {
    const r = parseConfig({ ...full, DRIVE_STRATEGY: "webhook" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      expect.stringMatching(/^DRIVE_STRATEGY: webhook needs OPENAI_WEBHOOK_SECRET/),
    ]);
    const ok = parseConfig({
      ...full,
      DRIVE_STRATEGY: "webhook",
      OPENAI_WEBHOOK_SECRET: full.WEBHOOK_SECRET,
    });
    if (!ok.ok) throw new Error(ok.problems.join());
    expect(ok.config.drive.strategy).toBe("webhook");
    expect(ok.config.openai?.webhookSecret).toBe(full.WEBHOOK_SECRET);
  });

  it("resolves the default strategy, auto: webhook with OpenAI webhooks, else call, else poll", () => {
    const strategy = (env: Record<string, string>) => {
      const r = parseConfig({ ...full, ...env });
      if (!r.ok) throw new Error(r.problems.join());
      return r.config.drive.strategy;
    };
    expect(strategy({})).toBe("call");
    expect(strategy({ OPENAI_WEBHOOK_SECRET: full.WEBHOOK_SECRET })).toBe("webhook");
    expect(strategy({ OPENAI_WEBHOOK_SECRET: full.WEBHOOK_SECRET, DRIVE_STRATEGY: "stream" })).toBe("stream");
    // QStash must be able to hold a call for a run's whole timeout (15 min on its free plan)...
    expect(strategy({ RUN_TIMEOUT_S: "3600" })).toBe("poll");
    expect(strategy({ RUN_TIMEOUT_S: "3600", QSTASH_CALL_MAX_S: "7200" })).toBe("call");
    // ...and to reach the OpenAI base URL: not a local address outside development.
    expect(strategy({ OPENAI_BASE_URL: "http://127.0.0.1:9000/v1" })).toBe("poll");
    expect(strategy({ OPENAI_BASE_URL: "https://localhost/v1" })).toBe("poll");
    expect(strategy({ OPENAI_BASE_URL: "https://llm.example.com/v1" })).toBe("call");
    expect(strategy({ THREADHOOK_ENV: "development", OPENAI_BASE_URL: "http://127.0.0.1:9000/v1" })).toBe(
      "call",
    );
  });

  it("treats a service with no variables as not configured, with a 503 naming what to set", () => {
    const r = parseConfig({ THREADHOOK_ENV: "development" });
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.config.redis).toBeNull();
    expect(() => requireService(r.config, "redis")).toThrow(/UPSTASH_REDIS_REST_URL/);
  });

  it("refuses an API_KEY, OPERATOR_KEY or WEBHOOK_SECRET with less than 24 characters of entropy, naming it", () => {
    const short = parseConfig({ ...full, API_KEY: "admin-key-2024" });
    expect(short.ok || short.problems).toEqual(["API_KEY: must be at least 24 characters"]);
    const repetitive = parseConfig({
      ...full,
      API_KEY: "k".repeat(32),
      OPERATOR_KEY: "abcabcabcabcabcabcabcabcabc",
      WEBHOOK_SECRET: `whsec_${"A".repeat(44)}`,
    });
    expect(repetitive.ok || repetitive.problems.map((p) => p.split(":")[0])).toEqual([
      "API_KEY",
      "OPERATOR_KEY",
      "WEBHOOK_SECRET",
    ]);
    expect(JSON.stringify(repetitive)).not.toContain("kkkk");
    // whsec_ with fewer than 24 bytes of key
    const thin = parseConfig({ ...full, WEBHOOK_SECRET: "whsec_dGhyZWFkaG9vay1kZXYtd2Vi" });
    expect(thin.ok || thin.problems).toEqual([expect.stringMatching(/^WEBHOOK_SECRET: .*24/)]);
    // Development keeps the length rule only (the local stack's fixed keys are public anyway).
    const dev = parseConfig({
      THREADHOOK_ENV: "development",
      API_KEY: "thk_dev_0000000000000000000000000000",
    });
    expect(dev.ok).toBe(true);
    const devShort = parseConfig({ THREADHOOK_ENV: "development", API_KEY: "dev" });
    expect(devShort.ok || devShort.problems).toEqual(["API_KEY: must be at least 24 characters"]);
  });

  it("refuses production steps without PUBLIC_URL: destinations never follow the request's Host", () => {
    const r = parseConfig({ ...full, PUBLIC_URL: undefined });
    expect(r.ok || r.problems).toEqual([expect.stringMatching(/^PUBLIC_URL: required in production/)]);
    const noQstash = parseConfig({
      ...full,
      PUBLIC_URL: undefined,
      QSTASH_TOKEN: undefined,
      QSTASH_CURRENT_SIGNING_KEY: undefined,
      QSTASH_NEXT_SIGNING_KEY: undefined,
    });
    expect(noQstash.ok).toBe(true);
    expect(parseConfig({ ...full, PUBLIC_URL: undefined, THREADHOOK_ENV: "development" }).ok).toBe(true);
  });

  it("defaults DISCORD_API_URL to Discord's v10 API, and wants https outside development", () => {
    const r = parseConfig(full);
    expect(r.ok && r.config.discordApiUrl).toBe("https://discord.com/api/v10");
    const local = { ...full, DISCORD_API_URL: "http://127.0.0.1:8083/api/v10/" };
    expect(parseConfig(local).ok || (parseConfig(local) as { problems: string[] }).problems).toEqual([
      expect.stringMatching(/^DISCORD_API_URL: must be https outside development/),
    ]);
    const dev = parseConfig({ ...local, THREADHOOK_ENV: "development" });
    expect(dev.ok && dev.config.discordApiUrl).toBe("http://127.0.0.1:8083/api/v10");
  });

  it("has defaults for failed-authentication throttling and keys per tenant", () => {
    const r = parseConfig(full);
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.config.authFailuresPerMin).toBe(100);
    expect(r.config.maxKeysPerTenant).toBe(100);
    const set = parseConfig({ ...full, AUTH_FAILURES_PER_MIN: "5", MAX_KEYS_PER_TENANT: "3" });
    if (!set.ok) throw new Error(set.problems.join());
    expect([set.config.authFailuresPerMin, set.config.maxKeysPerTenant]).toEqual([5, 3]);
  });
});
