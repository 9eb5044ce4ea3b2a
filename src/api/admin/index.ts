/** Administration (mounted at /v1): the operator API and a tenant admin's own keys, secrets and usage. */
import { Hono } from "hono";
import type { AppEnv } from "../../deps";
import { keys, usage, webhookSecrets } from "./account";
import { operator } from "./operator";

export const adminApi = new Hono<AppEnv>()
  .route("/admin", operator)
  .route("/keys", keys)
  .route("/webhook_secrets", webhookSecrets)
  .route("/usage", usage);
