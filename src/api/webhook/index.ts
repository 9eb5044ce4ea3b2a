/**
 * The webhook front door (mounted at /v1): send a message and get `202`, read and steer the run,
 * look up a conversation key. The answer arrives as a signed callback.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../deps";
import { conversations } from "./conversations";
import { messages } from "./messages";
import { runs } from "./runs";
import { schedules } from "./schedules";

export const webhookApi = new Hono<AppEnv>()
  .route("/messages", messages)
  .route("/runs", runs)
  .route("/conversations", conversations)
  .route("/schedules", schedules);
