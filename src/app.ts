import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "./errors";
import { loadConfig } from "./config";
import { errorFields, log, setLogLevel } from "./log";
import { account } from "./api/account";
import { admin } from "./api/admin";
import { assistants } from "./api/assistants";
import { health } from "./api/health";
import { messages } from "./api/messages";
import { openaiWebhook } from "./api/openai-webhook";
import { runs } from "./api/runs";
import { conversations } from "./api/conversations";
import { threadMessages } from "./api/thread-messages";
import { threadRuns } from "./api/thread-runs";
import { MAX_BODY_BYTES, MAX_STEP_BODY_BYTES } from "./api/limits";
import { threads } from "./api/threads";
import { steps } from "./steps/routes";

export type Env = Record<string, unknown>;

export type AppEnv = { Bindings: Env };

export function createApp() {
  const app = new Hono<AppEnv>();
  // LOG_LEVEL applies from the first request of an isolate on (config is parsed once per isolate).
  app.use(async (c, next) => {
    const config = loadConfig(c.env);
    if (config.ok) setLogLevel(config.config.logLevel);
    await next();
  });
  app.use("/v1/*", limitBody(MAX_BODY_BYTES));
  // Step deliveries are small; a larger body is refused before it is read for verification.
  app.use("/internal/*", limitBody(MAX_STEP_BODY_BYTES));
  app.route("/", health);
  app.route("/", steps);
  app.route("/", openaiWebhook);
  app.route("/", assistants);
  app.route("/", messages);
  app.route("/", runs);
  // Assistants v2 paths: /v1/threads/runs before /v1/threads/:id.
  app.route("/", threadRuns);
  app.route("/", threadMessages);
  app.route("/", threads);
  app.route("/", conversations);
  app.route("/", admin);
  app.route("/", account);
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
