/**
 * `npm run docs:openapi`: write the OpenAPI description (src/api/openapi/, built from the route
 * schemas) to docs/openapi.json, and the typed client's types to client/src/types.ts. test/http/openapi.test.ts fails when the copy there is stale.
 * The source imports without file extensions (bundler style), so it is bundled with esbuild first.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { renderTypes } from "./openapi-types.ts";

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
const mod = (await import(outfile)) as { openApiDocument: () => Parameters<typeof renderTypes>[0] };
rmSync(outfile);
const doc = mod.openApiDocument();
writeFileSync(new URL("../docs/openapi.json", import.meta.url), `${JSON.stringify(doc, null, 2)}\n`);
writeFileSync(new URL("../client/src/types.ts", import.meta.url), renderTypes(doc));
console.log("docs/openapi.json and client/src/types.ts written");
