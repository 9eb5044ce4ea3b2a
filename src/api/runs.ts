/** Runs of the webhook API: read, cancel, redeliver. */
import { Hono } from "hono";
import { z } from "zod";
import { cancelRun, loadRun, redeliver, submitToolOutputs } from "../commands/control";
import { requireConfig } from "../config";
import { presentRun, presentStep } from "../engine/present";
import { pageOf } from "../store/list";
import { ListQuery, parseBody, parseQuery } from "./validate";
import { type AuthedEnv, requireApiKey } from "../security/auth";
import { controlDeps, stores } from "../services";

const controlDepsOf = (env: object, origin: string) => controlDeps(requireConfig(env), origin);

export const SubmitToolOutputs = z.strictObject({
  tool_outputs: z
    .array(z.strictObject({ tool_call_id: z.string().min(1).max(128), output: z.string().max(512_000) }))
    .min(1)
    .max(128),
  stream: z.boolean().optional(),
});

export const runs = new Hono<AuthedEnv>()
  .use("/v1/runs/*", requireApiKey)
  .get("/v1/runs/:id", async (c) => {
    const { run } = await loadRun(
      { runs: stores(requireConfig(c.env)).runs },
      c.var.tenant,
      c.req.param("id"),
    );
    return c.json(presentRun(run));
  })
  .post("/v1/runs/:id/cancel", async (c) => {
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
    const run = await redeliver(
      controlDepsOf(c.env, new URL(c.req.url).origin),
      c.var.tenant,
      c.req.param("id"),
    );
    return c.json(presentRun(run), 202);
  });
