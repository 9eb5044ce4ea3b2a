/**
 * The docs page in a real browser: `npm run dev` (ephemeral ports), then headless Chromium (Debian's
 * `chromium`; `.ci/run` installs it) loads `/docs`, which renders /openapi.json with Swagger UI
 * from the Worker's static assets. The rendered DOM must list the routes; a screenshot is kept in
 * test-artifacts/docs-page.png (git-ignored).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { type DevCommand, EPHEMERAL_PORTS, startDevCommand } from "../support/dev-command";

const run = promisify(execFile);
const CHROMIUM = ["chromium", "/usr/bin/chromium", "chromium-browser"].find(
  (c) => !c.startsWith("/") || existsSync(c),
) as string;
const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

let dev: DevCommand | null = null;
afterAll(() => dev?.kill());

const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--hide-scrollbars",
  "--virtual-time-budget=15000",
];

describe("the /docs page", () => {
  it("renders every route of the description in headless Chromium, with a screenshot", async () => {
    dev = startDevCommand(EPHEMERAL_PORTS);
    const worker = (await dev.ready).ready.worker as string;
    const docs = `${worker}/docs`;
    const described = (await (await fetch(`${worker}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const { stdout: dom } = await run(CHROMIUM, [...chromiumFlags, "--dump-dom", docs], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 90_000,
    });
    // Swagger UI lists each operation with its path; every path of the description is on the page.
    expect(dom).toContain("swagger-ui");
    const shown = new Set([...dom.matchAll(/data-path="([^"]+)"/g)].map((m) => m[1]));
    const missing = Object.keys(described.paths).filter((p) => !shown.has(p));
    expect(missing).toEqual([]);
    expect(dom).toContain("Send a message and start a run");
    expect(dom).toContain("run.completed");

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = `${ARTIFACTS}docs-page.png`;
    await run(CHROMIUM, [...chromiumFlags, "--window-size=1280,2000", `--screenshot=${shot}`, docs], {
      timeout: 90_000,
    });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
  }, 300_000);
});
