import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "./errors";
import { errorFields, log } from "./log";
import { assistants } from "./api/assistants";
import { health } from "./api/health";
import { messages } from "./api/messages";
import { openaiWebhook } from "./api/openai-webhook";
import { runs } from "./api/runs";
import { threads } from "./api/threads";
import { steps } from "./steps/routes";

export type Env = Record<string, unknown>;

/** Largest request body accepted on the public API (the Assistants API's instructions limit fits). */
export const MAX_BODY_BYTES = 1024 * 1024;
export type AppEnv = { Bindings: Env };

export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "body_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
      },
    }),
  );
  app.route("/", health);
  app.route("/", steps);
  app.route("/", openaiWebhook);
  app.route("/", assistants);
  app.route("/", messages);
  app.route("/", runs);
  app.route("/", threads);
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
