/** The check over captured logs: no known secret, nothing shaped like one, every canary present. */
import type { RegistryEntry } from "./registry.ts";

/** Shapes of secrets threadhook and the stand-ins use, whatever their value. */
export const SECRET_SHAPES: [string, RegExp][] = [
  ["API key", /thk_[A-Za-z0-9_]{20,}/],
  ["operator key", /thop_[A-Za-z0-9_]{20,}/],
  ["webhook secret", /whsec_[A-Za-z0-9+/]{20,}/],
  ["QStash signing key", /sig_[A-Za-z0-9]{20,}/],
  ["bearer credential", /Bearer\s+[A-Za-z0-9._~+/=-]{16,}/i],
];

export interface ScanResult {
  problems: string[];
  secretsChecked: number;
  canariesFound: number;
}

/** `logs`: file name → content. Problems name the secret and the file, never the value. */
export function scanLogs(logs: Record<string, string>, registry: RegistryEntry[]): ScanResult {
  const problems: string[] = [];
  const secrets = new Map<string, string>();
  for (const e of registry) if (e.kind === "secret") secrets.set(e.value, e.name);
  for (const [file, text] of Object.entries(logs)) {
    for (const [value, name] of secrets)
      if (text.includes(value)) problems.push(`${file}: contains the ${name}`);
    for (const [name, shape] of SECRET_SHAPES) {
      if (shape.test(text)) problems.push(`${file}: contains something shaped like a ${name}`);
    }
  }
  const all = Object.values(logs).join("\n");
  const canaries = registry.filter((e) => e.kind === "canary");
  const missing = canaries.filter((c) => !all.includes(c.value));
  for (const c of missing) problems.push(`the Worker's log line ${c.value} was not captured`);
  return { problems, secretsChecked: secrets.size, canariesFound: canaries.length - missing.length };
}
