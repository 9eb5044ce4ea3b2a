/** Threads (Assistants v2 `thread` objects, plus threadhook's `conversation` key): create, read, modify, delete. */
import { Hono } from "hono";
import { createThread, deleteThread, loadThread } from "../commands/threads";
import { requireConfig } from "../config";
import { type AuthedEnv, requireKey } from "../security/auth";
import { threadDeps } from "../services";
import type { ThreadRecord } from "../store/records";
import { CreateThread, ModifyThread } from "./assistants-schemas";
import { parseBody } from "./validate";

/** A thread as the API shows it (the upstream conversation id stays inside threadhook). */
export const presentThread = <T extends ThreadRecord & { conversation_id?: string | null }>(
  t: T,
): ThreadRecord => {
  const { conversation_id: _hidden, ...rest } = t;
  return rest;
};

export const threads = new Hono<AuthedEnv>()
  .use("/v1/threads", requireKey)
  .use("/v1/threads/*", requireKey)
  .post("/v1/threads", async (c) => {
    const body = await parseBody(c, CreateThread);
    const thread = await createThread(threadDeps(requireConfig(c.env)), c.var.tenant, body);
    return c.json(presentThread(thread));
  })
  .get("/v1/threads/:id", async (c) => {
    const deps = threadDeps(requireConfig(c.env));
    return c.json(presentThread(await loadThread(deps, c.var.tenant, c.req.param("id"))));
  })
  .post("/v1/threads/:id", async (c) => {
    const deps = threadDeps(requireConfig(c.env));
    const current = await loadThread(deps, c.var.tenant, c.req.param("id"));
    const body = await parseBody(c, ModifyThread);
    const next = presentThread({
      ...current,
      metadata: body.metadata === undefined ? current.metadata : (body.metadata ?? {}),
      tool_resources:
        body.tool_resources === undefined ? current.tool_resources : (body.tool_resources ?? {}),
    });
    await deps.threads.put(c.var.tenant, next);
    return c.json(next);
  })
  .delete("/v1/threads/:id", async (c) =>
    c.json(await deleteThread(threadDeps(requireConfig(c.env)), c.var.tenant, c.req.param("id"))),
  );
