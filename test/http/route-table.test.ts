/**
 * The route table the security tests are driven by (test/support/routes.ts) lists exactly the
 * routes the app serves: a route added to the app but not to the table would escape the
 * cross-tenant, role and fuzz tests, so this fails until it is added.
 */
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { ADMIN_ROUTES, ROUTES } from "../support/routes";

/** Routes that are not tenant API routes, each covered by its own tests. */
const OTHER = new Set([
  "GET /health", // test/http/edges.test.ts, test/e2e/dev-command.test.ts
  "GET /openapi.json", // the description and its docs page, no key: test/http/openapi.test.ts
  "GET /docs",
  "GET /docs/:param",
  "POST /internal/steps/called", // test/e2e/call-strategy.test.ts
  "POST /internal/steps/drive", // test/e2e/step-auth.test.ts
  "POST /internal/steps/observe",
  "POST /internal/steps/reconcile", // test/e2e/reconcile.test.ts, test/http/step-busy.test.ts
  "POST /internal/steps/rescue",
  "POST /internal/steps/deferred", // test/e2e/delayed-runs.test.ts
  "POST /internal/steps/scheduled", // test/e2e/schedules.test.ts
  "POST /webhooks/openai", // test/e2e/openai-webhook.test.ts
  "GET /v1/files/:param/download", // signed links, no key: test/e2e/files-webhook.test.ts
  "POST /v1/integrations/:param/events", // signed by the platform, no key: test/e2e/slack.test.ts
]);

/** `/v1/runs/:id`, `/v1/runs/{run}`, `/v1/runs/run_x` and `/:key{.+}` all become `/v1/runs/:param`. */
const shape = (path: string) =>
  path
    .split("/")
    .map((seg, i, all) =>
      seg.startsWith(":") ||
      /^\{.*\}$/.test(seg) ||
      (i > 0 && /^(step|call)_/.test(seg) && all[i - 1] === "steps")
        ? ":param"
        : seg,
    )
    .join("/")
    .replace(/\/$/, "");

const ids = new Proxy({}, { get: (_t, name) => `{${String(name)}}` }) as never;

describe("route table", () => {
  it("matches the routes the app serves, one for one", () => {
    const served = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${shape(r.path)}`),
    );
    const tabled = new Set([
      ...ROUTES.map((r) => `${r.method} ${shape(r.path(ids))}`),
      ...ADMIN_ROUTES.map((r) => `${r.method} ${shape(r.path("{tenant}", "{key}"))}`),
      ...OTHER,
    ]);
    const missingFromTable = [...served].filter((r) => !tabled.has(r)).sort();
    const notServed = [...tabled].filter((r) => !served.has(r)).sort();
    expect({ missingFromTable, notServed }).toEqual({ missingFromTable: [], notServed: [] });
  });
});
