/**
 * The configuration a deployed Worker would read, gathered the way wrangler gathers it: the `[vars]`
 * of wrangler.toml, then `.dev.vars` (what `wrangler dev` adds), then the environment (where a
 * deployer puts the values of the secrets they are about to `wrangler secret put`); later ones win.
 * Each value remembers where it came from, so findings can say which file to fix.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type Source = "wrangler.toml" | ".dev.vars" | "environment";
export interface Gathered {
  env: Record<string, string>;
  from: Record<string, Source>;
}

/** `KEY = "value"` (or a bare number/boolean) lines of wrangler.toml's `[vars]` table. */
export function tomlVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inVars = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+|\s+$/g, "");
    if (line.startsWith("[")) {
      inVars = line === "[vars]";
      continue;
    }
    if (!inVars || line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*(#.*)?$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const value = m[2];
    const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    out[m[1]] = quoted?.[1] !== undefined ? quoted[1].replace(/\\"/g, '"') : value;
  }
  return out;
}

/** `KEY=value` lines of a dotenv file (`.dev.vars`), quotes removed. */
export function dotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m?.[1] || raw.trimStart().startsWith("#")) continue;
    const value = m[2] ?? "";
    const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    out[m[1]] = quoted?.[1] ?? value;
  }
  return out;
}

/** The names the Worker reads (src/config.ts); only these are taken from the environment. */
export function gather(dir: string, environment: NodeJS.ProcessEnv, names: readonly string[]): Gathered {
  const env: Record<string, string> = {};
  const from: Record<string, Source> = {};
  const take = (vars: Record<string, string | undefined>, source: Source) => {
    for (const name of names) {
      const value = vars[name];
      if (value === undefined || value === "") continue;
      env[name] = value;
      from[name] = source;
    }
  };
  const read = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), "utf8") : null);
  const toml = read("wrangler.toml");
  if (toml !== null) take(tomlVars(toml), "wrangler.toml");
  const devVars = read(".dev.vars");
  if (devVars !== null) take(dotenv(devVars), ".dev.vars");
  take(environment, "environment");
  return { env, from };
}
