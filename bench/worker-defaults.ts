/**
 * The Worker's own defaults (drive strategy, budget), read from src/config.ts itself so the bench
 * never restates them. src/ uses extensionless relative imports (bundler style); a resolve hook
 * lets Node's type stripping load them.
 */
import { registerHooks } from "node:module";

let registered = false;

export async function workerDefaults(): Promise<{ strategy: string; budgetMs: number }> {
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
  const parsed = parseConfig({});
  if (!parsed.ok) throw new Error(`the Worker's config has no defaults: ${parsed.problems.join("; ")}`);
  return { strategy: parsed.config.drive.strategy, budgetMs: parsed.config.drive.budgetMs };
}
