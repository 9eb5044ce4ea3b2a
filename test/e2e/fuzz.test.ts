/**
 * A fuzz smoke through the Worker in workerd (the full fuzz runs in process: test/http/fuzz.test.ts):
 * the same suite, fewer requests per route, so the runtime's own parsing and limits are covered too.
 */
import { hookPath, startE2E } from "../support/e2e";
import { fuzzSuite } from "../support/fuzz-suite";

fuzzSuite("fuzz through workerd", Number(process.env.FUZZ_SMOKE_PER_ROUTE ?? 40), async () => {
  // wrangler passes on only the Worker's warnings and errors here (its per-request lines would
  // slow the file down); the log check still sees those and this Worker's canary.
  const e2e = await startE2E({ workerLogLevel: "warn", workerVars: { MONTHLY_RUN_QUOTA: "25" } });
  return {
    send: (path, init) => fetch(`${e2e.worker}${path}`, init),
    api: e2e.api,
    admin: e2e.admin,
    apiKey: e2e.stack.ready.apiKey as string,
    operatorKey: e2e.stack.ready.operatorKey as string,
    callbackUrl: `${e2e.inbox.url}${hookPath("fuzz")}`,
    settle: async (runId) => {
      await e2e.waitForRun(runId, ["completed"]);
    },
    close: e2e.close,
  };
});
