import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Every test process's output (the in-process Workers' logs included) is captured and, after
    // the last test, scanned for secrets: see test/support/log-capture/.
    globalSetup: ["test/support/log-capture/global.ts"],
    setupFiles: ["test/support/log-capture/setup.ts"],
    // The Workers log at debug level for that check; keep their routine lines off the terminal.
    onConsoleLog: (log) => !/"level":"(debug|info)"|\[wrangler:info\]/.test(log),
  },
});
