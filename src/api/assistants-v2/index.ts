/**
 * The Assistants v2 front door (mounted at /v1), wire-compatible with the retired API so that
 * `openai.beta.*` client code works by changing its base URL: assistants, threads, messages, runs,
 * run steps, streaming; and `/models`, which SDK helpers and tools list to check a model name.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../deps";
import { type AuthedEnv, requireKey } from "../../security/auth";
import { assistants } from "./assistants";
import { messages } from "./messages";
import { models } from "./models";
import { runs } from "./runs";
import { threads } from "./threads";

// `/threads/runs` (create a thread and run) before `/threads/:id`.
const threadRoutes = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .route("/", runs)
  .route("/", messages)
  .route("/", threads);

export const assistantsV2Api = new Hono<AppEnv>()
  .route("/assistants", assistants)
  .route("/models", models)
  .route("/threads", threadRoutes);
