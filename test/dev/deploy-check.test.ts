/**
 * `npm run deploy:check` against the local stack: it reads wrangler.toml `[vars]`, `.dev.vars` and
 * the environment as the Worker would, asks Redis, QStash and OpenAI (here their stand-ins) whether
 * they take the credentials, and names every variable that is missing or inconsistent, exiting 1
 * when something must be fixed. Secret values never appear in its output.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devWorkerVars, startStack } from "../../dev/stack.ts";

let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;
let base: Record<string, string>;
const API_KEY = "Zq3xV8pL2mN7rT4wY9bC6dF1gH5jK0sA2eU8iO3q";

beforeAll(async () => {
  stack = await startStack({ ports: { redis: 0, qstash: 0, openai: 0, inbox: 0, slack: 0, discord: 0 } });
  const vars = devWorkerVars(stack.ready);
  dir = mkdtempSync(join(tmpdir(), "deploy-check-"));
  // Plain variables in wrangler.toml, secrets in .dev.vars, as a deployer keeps them.
  writeFileSync(
    join(dir, "wrangler.toml"),
    [
      'name = "threadhook"',
      "[vars]",
      'THREADHOOK_ENV = "production"',
      `UPSTASH_REDIS_REST_URL = "${vars.UPSTASH_REDIS_REST_URL}"`,
      `QSTASH_URL = "${vars.QSTASH_URL}"`,
      'PUBLIC_URL = "https://threadhook.example.workers.dev"',
      "",
      "[limits]",
      'cpu_ms = "not a var"',
    ].join("\n"),
  );
  const secrets = [
    "UPSTASH_REDIS_REST_TOKEN",
    "QSTASH_TOKEN",
    "QSTASH_CURRENT_SIGNING_KEY",
    "QSTASH_NEXT_SIGNING_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "WEBHOOK_SECRET",
  ];
  writeFileSync(join(dir, ".dev.vars"), secrets.map((k) => `${k}="${vars[k]}"`).join("\n"));
  base = { API_KEY };
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await stack?.close();
});

/** Runs the preflight with `env` on top of the files; its exit code and output. */
function check(env: Record<string, string> = {}, args: string[] = []) {
  const names = Object.keys(process.env).filter(
    (k) => !/^(THREADHOOK|UPSTASH|QSTASH|OPENAI|API_KEY|OPERATOR|WEBHOOK|PUBLIC_URL|DRIVE|RUN_)/.test(k),
  );
  const clean = Object.fromEntries(names.map((k) => [k, process.env[k] as string]));
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      process.execPath,
      ["scripts/deploy-check.ts", `--dir=${dir}`, ...args],
      { env: { ...clean, ...base, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

const lines = (out: string, mark: string) => out.split("\n").filter((l) => l.startsWith(mark));

describe("deploy:check", () => {
  it("passes a complete config whose services take their credentials", async () => {
    const { code, out } = await check();
    expect(lines(out, "✗")).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain("variables read: 4 from wrangler.toml, 7 from .dev.vars, 1 from environment");
    expect(out).toContain("UPSTASH_REDIS_REST_URL takes UPSTASH_REDIS_REST_TOKEN");
    expect(out).toContain("OPENAI_BASE_URL takes OPENAI_API_KEY");
    expect(out).toContain("both signing keys match the account's");
    // The local OpenAI stand-in is not a URL QStash could reach: auto falls back to poll, and says so.
    expect(out).toContain("auto fell back to poll");
  });

  it("names a QStash token another region's endpoint refuses, and signing keys of another account", async () => {
    const wrongToken = await check({ QSTASH_TOKEN: "eyJvdGhlciI6InJlZ2lvbiJ9" });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.out).toMatch(
      /✗ \[qstash\] QSTASH_TOKEN is refused by QSTASH_URL .*QSTASH_URL=https:\/\/qstash-us-east-1/,
    );
    const wrongKey = await check({ QSTASH_NEXT_SIGNING_KEY: "sig_notThisAccountsKey000000000" });
    expect(wrongKey.code).toBe(1);
    expect(lines(wrongKey.out, "✗")).toEqual([
      expect.stringContaining("QSTASH_NEXT_SIGNING_KEY is not a signing key of this QStash account"),
    ]);
  });

  it("finds PUBLIC_URL's shape, short secrets, the wrong mode and a strategy the plan cannot run", async () => {
    const { code, out } = await check({
      PUBLIC_URL: "http://127.0.0.1:8787/api",
      API_KEY: "short",
      WEBHOOK_SECRET: "whsec_c2hvcnRzaG9ydHNob3J0c2g=",
      DRIVE_STRATEGY: "stream",
      THREADHOOK_ENV: "production",
    });
    expect(code).toBe(1);
    const errors = lines(out, "✗").join("\n");
    expect(errors).toContain("PUBLIC_URL: must be https outside development");
    expect(out).not.toContain(API_KEY);
    const shape = await check({ PUBLIC_URL: "https://threadhook.example.workers.dev/api" });
    expect(lines(shape.out, "✗").join("\n")).toContain("PUBLIC_URL must be the origin only");
    // A key below the minimum is refused by the Worker's own config, which the preflight reports.
    const short = await check({ API_KEY: "short" });
    expect(short.code).toBe(1);
    expect(lines(short.out, "✗").join("\n")).toContain("API_KEY: must be at least 24 characters");
    const stream = await check({ DRIVE_STRATEGY: "stream" });
    expect(lines(stream.out, "✗").join("\n")).toContain("stream does not fit Workers Free");
    const weak = await check({ WEBHOOK_SECRET: "whsec_c2hvcnRzaG9ydHNob3J0c2g=" });
    expect(lines(weak.out, "✗").join("\n")).toContain("WEBHOOK_SECRET: must carry");
    const paid = await check({ DRIVE_STRATEGY: "stream" }, ["--workers-plan=paid"]);
    expect(paid.code).toBe(0);
    const dev = await check({ THREADHOOK_ENV: "development" });
    expect(lines(dev.out, "✗").join("\n")).toContain("THREADHOOK_ENV=development");
  });

  it("names the variables of a service that is not configured, and never prints a secret", async () => {
    const { code, out } = await check(
      { QSTASH_TOKEN: "", QSTASH_CURRENT_SIGNING_KEY: "", QSTASH_NEXT_SIGNING_KEY: "" },
      ["--offline"],
    );
    expect(code).toBe(0); // .dev.vars still has them: the environment's empty values do not unset
    const bare = mkdtempSync(join(tmpdir(), "deploy-check-bare-"));
    try {
      const none = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(
          process.execPath,
          ["scripts/deploy-check.ts", `--dir=${bare}`, "--offline"],
          { env: { PATH: process.env.PATH ?? "", PUBLIC_URL: "https://threadhook.example.workers.dev" } },
          (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout }),
        ),
      );
      expect(none.code).toBe(1);
      const errors = lines(none.out, "✗").join("\n");
      expect(errors).toContain("UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are not set");
      expect(errors).toContain(
        "QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY are not set",
      );
      expect(errors).toContain("OPENAI_API_KEY is not set");
      expect(errors).toContain("neither API_KEY nor OPERATOR_KEY");
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
    for (const secret of [stack.ready.qstash.token, stack.ready.redis.token, stack.ready.openai.apiKey])
      expect(out).not.toContain(secret);
  });
});
