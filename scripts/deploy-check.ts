/**
 * `npm run deploy:check`: the preflight before `wrangler deploy`. It reads the configuration the
 * Worker would read (wrangler.toml `[vars]`, `.dev.vars`, the environment: see deploy-sources.ts),
 * parses it with the Worker's own schema (src/config.ts), then checks, naming each variable, what
 * the schema cannot: the shape of PUBLIC_URL, secret lengths, the QStash region against its token
 * and signing keys, the credentials of Redis, QStash and OpenAI (one request each, unless
 * `--offline`), and the drive strategy against the Workers and QStash plans. Exits 1 when anything
 * must be fixed; warnings alone exit 0.
 *
 *   npm run deploy:check -- [--workers-plan=free|paid] [--qstash-plan=free|payg] [--offline] [--dir=PATH]
 */
import { registerHooks } from "node:module";
import { parseArgs } from "node:util";
import { gather } from "./deploy-sources.ts";
import { type Finding, planFindings, probeFindings, staticFindings } from "./deploy-findings.ts";

registerHooks({
  // src/ uses extensionless relative imports (bundler style); Node's type stripping needs `.ts`.
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (specifier.startsWith(".") && !/\.[cm]?[jt]s$/.test(specifier))
        return next(`${specifier}.ts`, context);
      throw err;
    }
  },
});

const USAGE =
  "usage: npm run deploy:check -- [--workers-plan=free|paid] [--qstash-plan=free|payg] [--offline] [--dir=PATH]";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "workers-plan": { type: "string", default: "free" },
      "qstash-plan": { type: "string", default: "free" },
      offline: { type: "boolean", default: false },
      dir: { type: "string", default: process.cwd() },
      help: { type: "boolean", short: "h" },
    },
  });
  const workersPlan = values["workers-plan"];
  const qstashPlan = values["qstash-plan"];
  if (values.help || !["free", "paid"].includes(workersPlan) || !["free", "payg"].includes(qstashPlan)) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const { CONFIG_VARIABLES, parseConfig } = await import("../src/config.ts");
  const { env, from } = gather(values.dir, process.env, CONFIG_VARIABLES);
  const parsed = parseConfig(env);
  const findings: Finding[] = [];
  if (!parsed.ok) {
    for (const p of parsed.problems) findings.push({ level: "error", item: "config", text: p });
  } else {
    const plans = { workers: workersPlan as "free" | "paid", qstash: qstashPlan as "free" | "payg" };
    findings.push(...staticFindings(env, parsed.config));
    findings.push(...planFindings(env, parsed.config, plans));
    if (!values.offline) findings.push(...(await probeFindings(parsed.config)));
  }
  report(findings, from);
  return findings.some((f) => f.level === "error") ? 1 : 0;
}

const MARK = { ok: "✓", warn: "!", error: "✗" } as const;

function report(findings: Finding[], from: Record<string, string>): void {
  const sources = Object.entries(from).reduce<Record<string, number>>((acc, [, s]) => {
    acc[s] = (acc[s] ?? 0) + 1;
    return acc;
  }, {});
  console.log(
    `deploy:check — variables read: ${
      Object.entries(sources)
        .map(([s, n]) => `${n} from ${s}`)
        .join(", ") || "none"
    }`,
  );
  for (const f of findings) console.log(`${MARK[f.level]} [${f.item}] ${f.text}`);
  const errors = findings.filter((f) => f.level === "error").length;
  const warnings = findings.filter((f) => f.level === "warn").length;
  console.log(`deploy:check: ${errors} to fix, ${warnings} warnings`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
