/**
 * `npm run bundle:check` (part of `npm run check`): bundle the Worker exactly as `wrangler deploy`
 * would (`--dry-run`, nothing uploaded, no network) and fail when the script is larger, gzipped,
 * than the budget. Workers' limits are far above it (3 MB compressed on Free, 10 MB on Paid); the
 * budget is there to notice growth early: a larger script parses longer on every cold start.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** Gzipped size the Worker's script may have, in KiB (the unit wrangler prints). */
export const BUNDLE_BUDGET_KIB = 600;

export interface BundleSize {
  rawKiB: number;
  gzipKiB: number;
  ok: boolean;
}

/** The size of a bundled script, raw and gzipped, against the budget. */
export function measure(script: Buffer, budgetKiB = BUNDLE_BUDGET_KIB): BundleSize {
  const gzipKiB = gzipSync(script).length / 1024;
  return { rawKiB: script.length / 1024, gzipKiB, ok: gzipKiB <= budgetKiB };
}

function main(): number {
  const outdir = mkdtempSync(join(tmpdir(), "threadhook-bundle-"));
  try {
    const run = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir], {
      encoding: "utf8",
      // No telemetry, no update check: the dry run must not reach the network.
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn", CI: "1" },
    });
    if (run.status !== 0) {
      process.stderr.write(`${run.stdout}${run.stderr}\nwrangler deploy --dry-run failed\n`);
      return 1;
    }
    const size = measure(readFileSync(join(outdir, "index.js")));
    const line = `bundle: ${size.rawKiB.toFixed(1)} KiB, ${size.gzipKiB.toFixed(1)} KiB gzipped (budget ${BUNDLE_BUDGET_KIB} KiB)`;
    if (!size.ok) {
      process.stderr.write(`${line}: over budget\n`);
      return 1;
    }
    process.stdout.write(`${line}: ok\n`);
    return 0;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main());
