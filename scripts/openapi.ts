/**
 * `npm run docs:openapi`: write the OpenAPI description (src/api/openapi/, built from the route
 * schemas) to docs/openapi.json. test/http/openapi.test.ts fails when the copy there is stale.
 * The source imports without file extensions (bundler style), so it is bundled with esbuild first.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const dir = new URL("../.tmp/openapi/", import.meta.url);
mkdirSync(dir, { recursive: true });
const outfile = new URL(`document-${process.pid}.mjs`, dir).pathname;
await build({
  entryPoints: [new URL("../src/api/openapi/document.ts", import.meta.url).pathname],
  bundle: true,
  outfile,
  format: "esm",
  platform: "node",
  packages: "external",
  logLevel: "error",
});
const mod = (await import(outfile)) as { openApiDocument: () => unknown };
rmSync(outfile);
writeFileSync(
  new URL("../docs/openapi.json", import.meta.url),
  `${JSON.stringify(mod.openApiDocument(), null, 2)}\n`,
);
console.log("docs/openapi.json written");
