/** Runs of the webhook API: read, cancel, answer tool calls, steps, redeliver the callback. */
import { Hono } from "hono";
import { z } from "zod";
import {
  cancelRun,
  listRunSteps,
  loadRunFor,
  progressDelivery,
  redeliver,
  submitToolOutputs,
} from "../../commands/runs";
import { presentRun } from "../../engine/present";
import { feedStream } from "./run-events";
import { type AuthedEnv, requireKey } from "../../security/auth";
import { ListQuery, NoBody, SubmitToolOutputs } from "../schemas";
import { parseBody, parseQuery } from "../validate";

export const StepsQuery = ListQuery.extend({ order: z.enum(["asc", "desc"]).default("asc") });

export const runs = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .get("/:id", async (c) => {
    const { run } = await loadRunFor(c.var.deps, c.var.principal, c.req.param("id"));
    return c.json(presentRun(run, await progressDelivery(c.var.deps, run)));
  })
  .post("/:id/cancel", async (c) => {
    await parseBody(c, NoBody);
    return c.json(presentRun(await cancelRun(c.var.deps, c.var.principal, c.req.param("id"))));
  })
  .post("/:id/submit_tool_outputs", async (c) => {
    const body = await parseBody(c, SubmitToolOutputs);
    const { deps, principal } = c.var;
    return c.json(presentRun(await submitToolOutputs(deps, principal, c.req.param("id"), body.tool_outputs)));
  })
  .get("/:id/events", async (c) => {
    const { deps, principal } = c.var;
    const { run } = await loadRunFor(deps, principal, c.req.param("id"));
    const lastEventId = c.req.header("last-event-id")?.trim() || null;
    return feedStream(c, deps, run, lastEventId, { windowMs: deps.config.eventFeedWindowMs });
  })
  .get("/:id/steps", async (c) => {
    const q = parseQuery(c, StepsQuery);
    const { run } = await loadRunFor(c.var.deps, c.var.principal, c.req.param("id"));
    return c.json(listRunSteps(run, q));
  })
  .post("/:id/redeliver", async (c) => {
    await parseBody(c, NoBody);
    return c.json(presentRun(await redeliver(c.var.deps, c.var.principal, c.req.param("id"))), 202);
  });
