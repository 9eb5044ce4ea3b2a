import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Most test time is waiting (workerd, the stand-ins, time-scaled delays), so two files at once
    // even on a 2-core machine (vitest's default there is one): the suite beside two busy loops
    // took 518 s with two and 873 s with one in two runs (docs/testing.md).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Every test process's output (the in-process Workers' logs included) is captured and, after
    // the last test, scanned for secrets: see test/support/log-capture/.
    globalSetup: ["test/support/log-capture/global.ts"],
    setupFiles: ["test/support/log-capture/setup.ts"],
    // The Workers log at debug level for that check; keep their routine lines off the terminal.
    onConsoleLog: (log) => !/"level":"(debug|info)"|\[wrangler:info\]/.test(log),
  },
});
