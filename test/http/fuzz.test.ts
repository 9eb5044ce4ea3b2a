/**
 * The full fuzz in process (400 requests per route by default, a fixed seed; `FUZZ_PER_ROUTE=5000 npm test --
 * test/http/fuzz` goes deeper): see test/support/fuzz-suite.ts.
 */
import { fuzzSuite } from "../support/fuzz-suite";
import { startInProcess } from "../support/in-process";

fuzzSuite("fuzz in process", Number(process.env.FUZZ_PER_ROUTE ?? 400), async () => {
  // Valid bodies create runs (they stay queued here): a small monthly quota bounds them (then 429s).
  const t = await startInProcess({ vars: { MONTHLY_RUN_QUOTA: "25" } });
  return {
    send: t.fetch,
    api: t.api,
    admin: t.admin,
    apiKey: t.env.API_KEY as string,
    operatorKey: t.env.OPERATOR_KEY as string,
    callbackUrl: `${t.inboxUrl}/hooks/fuzz`,
    settle: async () => {},
    close: t.close,
  };
});
