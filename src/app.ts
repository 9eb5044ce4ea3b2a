/**
 * The Worker's HTTP app: one middleware sets the request's deps (deps.ts) and log level, the route
 * groups are mounted at their base paths, and one onError turns every failure into the API's error
 * shape. `createApp({ deps })` is the test seam: it replaces how deps are built for each request.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { adminApi } from "./api/admin";
import { assistantsV2Api } from "./api/assistants-v2";
import { filesApi } from "./api/files";
import { integrationsApi } from "./api/integrations";
import { MAX_BODY_BYTES, MAX_CALL_CALLBACK_BYTES, MAX_STEP_BODY_BYTES } from "./api/limits";
import { health } from "./api/system/health";
import { openApiRoutes } from "./api/system/openapi";
import { openaiWebhook } from "./api/system/openai-webhook";
import { webhookApi } from "./api/webhook";
import { loadConfig } from "./config";
import { type AppEnv, createDeps, type DepsFactory } from "./deps";
import { ApiError } from "./errors";
import { errorFields, log, setLogLevel } from "./log";
import { CALLED_PATH } from "./queue/steps";
import { steps } from "./steps/routes";

export function createApp(options: { deps?: DepsFactory } = {}) {
  const makeDeps = options.deps ?? createDeps;
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("deps", makeDeps(c.env ?? {}, new URL(c.req.url).origin));
    // LOG_LEVEL applies from the first request of an isolate on (config is parsed once per isolate).
    const config = loadConfig(c.env ?? {});
    if (config.ok) setLogLevel(config.config.logLevel);
    await next();
  });
  // File uploads are streamed through with their own limit (MAX_UPLOAD_BYTES, see api/files).
  const jsonLimit = limitBody(MAX_BODY_BYTES);
  app.use("/v1/*", (c, next) =>
    c.req.method === "POST" && c.req.path === "/v1/files" ? next() : jsonLimit(c, next),
  );
  // Step deliveries are small; a larger body is refused before it is read for verification. A
  // call's callback carries a model's answer.
  const stepBody = limitBody(MAX_STEP_BODY_BYTES);
  const callBody = limitBody(MAX_CALL_CALLBACK_BYTES);
  app.use("/internal/*", (c, next) => (c.req.path === CALLED_PATH ? callBody : stepBody)(c, next));
  app.route("/", health);
  app.route("/", openApiRoutes);
  app.route("/", steps);
  app.route("/", openaiWebhook);
  app.route("/v1", webhookApi);
  app.route("/v1", assistantsV2Api);
  app.route("/v1", adminApi);
  app.route("/v1", filesApi);
  app.route("/v1/integrations", integrationsApi);
  app.notFound(() => {
    throw new ApiError(404, "route_not_found", "No route matches this method and path.");
  });
  app.onError((err, c) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) log("error", "request failed", { path: c.req.path, ...errorFields(err) });
    return c.json(apiError.toBody(), apiError.status, apiError.headers);
  });
  return app;
}

const limitBody = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, "body_too_large", `Request bodies are limited to ${maxSize} bytes.`);
    },
  });

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const status = err.status === 413 ? 413 : err.status >= 500 ? 500 : 400;
    return new ApiError(
      status,
      status === 413 ? "body_too_large" : "bad_request",
      err.message || "Bad request.",
    );
  }
  return new ApiError(500, "internal_error", "Internal error. The request may be retried.");
}
