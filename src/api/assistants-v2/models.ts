/** `/v1/models`: the models this deployment serves (OpenAI's list and retrieve). */
import { Hono } from "hono";
import { getModel, listModels } from "../../commands/models";
import { type AuthedEnv, requireKey } from "../../security/auth";

export const models = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .get("/", (c) => c.json(listModels(c.var.deps.config)))
  .get("/:model", (c) => c.json(getModel(c.var.deps.config, c.req.param("model"))));
