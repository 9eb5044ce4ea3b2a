/** Runs of the webhook API: read, cancel, redeliver. */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { cancelRun, loadRun, redeliver, submitToolOutputs } from "../commands/control";
import { requireConfig } from "../config";
import { presentRun, presentStep } from "../engine/present";
import { pageOf } from "../store/list";
import { MAX_TOOL_OUTPUT_CHARS } from "./limits";
import { ListQuery, parseBody, parseQuery } from "./validate";
import { type AuthedEnv, assertAssistantAllowed, requireKey } from "../security/auth";
import { controlDeps, stores } from "../services";

const controlDepsOf = (env: object, origin: string) => controlDeps(requireConfig(env), origin);

/** Routes that take no parameters accept an empty body or `{}`, nothing else. */
const NoBody = z.strictObject({});

export const SubmitToolOutputs = z.strictObject({
  tool_outputs: z
    .array(
      z.strictObject({
        tool_call_id: z.string().min(1).max(128),
        output: z.string().max(MAX_TOOL_OUTPUT_CHARS),
      }),
    )
    .min(1)
    .max(128),
  stream: z.boolean().optional(),
});

/**
 * A key scoped to some assistants reaches only their runs: the run named by the path parameter
 * `param` is loaded (404 when it is not the tenant's) and its assistant checked (403). Unscoped keys
 * pass without a lookup. Apply to every route that names a run.
 */
export const requireRunScope = (param = "id") =>
  createMiddleware<AuthedEnv>(async (c, next) => {
    if (c.var.principal.assistantIds !== null) {
      const id = c.req.param(param) ?? "";
      const { run } = await loadRun({ runs: stores(requireConfig(c.env)).runs }, c.var.tenant, id);
      assertAssistantAllowed(c.var.principal, run.assistant_id);
    }
    await next();
  });

export const runs = new Hono<AuthedEnv>()
  .use("/v1/runs/*", requireKey)
  .use("/v1/runs/:id", requireRunScope())
  .use("/v1/runs/:id/*", requireRunScope())
  .get("/v1/runs/:id", async (c) => {
    const { run } = await loadRun(
      { runs: stores(requireConfig(c.env)).runs },
      c.var.tenant,
      c.req.param("id"),
    );
    return c.json(presentRun(run));
  })
  .post("/v1/runs/:id/cancel", async (c) => {
    await parseBody(c, NoBody);
    const run = await cancelRun(
      controlDepsOf(c.env, new URL(c.req.url).origin),
      c.var.tenant,
      c.req.param("id"),
    );
    return c.json(presentRun(run));
  })
  .post("/v1/runs/:id/submit_tool_outputs", async (c) => {
    const body = await parseBody(c, SubmitToolOutputs);
    const run = await submitToolOutputs(
      controlDepsOf(c.env, new URL(c.req.url).origin),
      c.var.tenant,
      c.req.param("id"),
      body.tool_outputs,
    );
    return c.json(presentRun(run));
  })
  .get("/v1/runs/:id/steps", async (c) => {
    const q = parseQuery(c, ListQuery.extend({ order: z.enum(["asc", "desc"]).default("asc") }));
    const { run } = await loadRun(
      { runs: stores(requireConfig(c.env)).runs },
      c.var.tenant,
      c.req.param("id"),
    );
    return c.json(
      pageOf(
        run.steps.map((s) => presentStep(run, s)),
        q,
      ),
    );
  })
  .post("/v1/runs/:id/redeliver", async (c) => {
    await parseBody(c, NoBody);
    const run = await redeliver(
      controlDepsOf(c.env, new URL(c.req.url).origin),
      c.var.tenant,
      c.req.param("id"),
    );
    return c.json(presentRun(run), 202);
  });
