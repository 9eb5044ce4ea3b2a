/**
 * The Worker's own defaults (drive strategy, budget), read from src/config.ts itself so the bench
 * never restates them. src/ uses extensionless relative imports (bundler style); a resolve hook
 * lets Node's type stripping load them.
 */
import { registerHooks } from "node:module";

let registered = false;

export type WorkerDefaults = {
  /** The default strategy (`auto`) as it resolves without OpenAI webhooks configured… */
  strategy: string;
  /** …and with them (OPENAI_WEBHOOK_SECRET set). */
  withWebhooks: string;
  budgetMs: number;
};

export async function workerDefaults(): Promise<WorkerDefaults> {
  if (!registered) {
    registered = true;
    registerHooks({
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
  }
  const { parseConfig } = await import("../src/config.ts");
  const parse = (env: Record<string, string>) => {
    const parsed = parseConfig(env);
    if (!parsed.ok) throw new Error(`the Worker's config has no defaults: ${parsed.problems.join("; ")}`);
    return parsed.config.drive;
  };
  const plain = parse({});
  const hooked = parse({ OPENAI_WEBHOOK_SECRET: `whsec_${Buffer.alloc(24).toString("base64")}` });
  return { strategy: plain.strategy, withWebhooks: hooked.strategy, budgetMs: plain.budgetMs };
}
