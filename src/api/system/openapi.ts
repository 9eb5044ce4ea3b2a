/**
 * `GET /openapi.json` (the description, built from the route schemas: ../openapi/) and `GET /docs`
 * (Swagger UI rendering it). Neither needs a key. The renderer's files are Workers static assets
 * (wrangler.toml `[assets]`, the `swagger-ui-dist` package), served under `/docs/` through the
 * ASSETS binding: they are not part of the Worker's bundle, and nothing is loaded from a CDN.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../deps";
import { ApiError } from "../../errors";
import { openApiDocument } from "../openapi/document";

/** The renderer's files the page loads (nothing else of the package is served). */
const DOCS_ASSETS: Record<string, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
};

let cached: { origin: string; body: string } | undefined;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>threadhook API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#docs", deepLinking: true, docExpansion: "list" });
</script>
</body>
</html>
`;

export const openApiRoutes = new Hono<AppEnv>()
  .get("/openapi.json", (c) => {
    const origin = new URL(c.req.url).origin;
    if (cached?.origin !== origin) cached = { origin, body: JSON.stringify(openApiDocument(origin)) };
    return c.body(cached.body, 200, { "content-type": "application/json; charset=utf-8" });
  })
  .get("/docs", (c) =>
    c.html(PAGE, 200, {
      "content-security-policy":
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:",
    }),
  )
  .get("/docs/:asset", async (c) => {
    const name = c.req.param("asset");
    const type = DOCS_ASSETS[name];
    const assets = (c.env as { ASSETS?: { fetch: (r: Request) => Promise<Response> } } | undefined)?.ASSETS;
    if (!type) throw new ApiError(404, "route_not_found", "No route matches this method and path.");
    if (!assets)
      throw new ApiError(503, "docs_assets_unavailable", "The docs page's static assets are not bound here.");
    const res = await assets.fetch(new Request(new URL(`/${name}`, c.req.url)));
    if (!res.ok)
      throw new ApiError(503, "docs_assets_unavailable", "The docs page's static assets are missing.");
    return new Response(res.body, {
      headers: { "content-type": type, "cache-control": "public, max-age=3600" },
    });
  });
