/** Messages of a thread (Assistants v2 `thread.message`): create, list, retrieve, modify, delete. */
import { Hono } from "hono";
import { z } from "zod";
import { addMessages, deleteMessage, loadThread } from "../commands/threads";
import { requireConfig } from "../config";
import { notFound } from "../errors";
import { type AuthedEnv, requireKey } from "../security/auth";
import { threadDeps } from "../services";
import { CreateMessage, ModifyMetadata } from "./assistants-schemas";
import { ListQuery, parseBody, parseQuery } from "./validate";

const MessageListQuery = ListQuery.extend({ run_id: z.string().max(64).optional() });

export const threadMessages = new Hono<AuthedEnv>()
  .use("/v1/threads/*", requireKey)
  .post("/v1/threads/:thread/messages", async (c) => {
    const body = await parseBody(c, CreateMessage);
    const deps = threadDeps(requireConfig(c.env));
    await loadThread(deps, c.var.tenant, c.req.param("thread"));
    const [message] = await addMessages(deps, c.var.tenant, c.req.param("thread"), [body]);
    return c.json(message);
  })
  .get("/v1/threads/:thread/messages", async (c) => {
    const q = parseQuery(c, MessageListQuery);
    const deps = threadDeps(requireConfig(c.env));
    const thread = await loadThread(deps, c.var.tenant, c.req.param("thread"));
    return c.json(await deps.messages.list(c.var.tenant, thread.id, { ...q, runId: q.run_id }));
  })
  .get("/v1/threads/:thread/messages/:id", async (c) => {
    const deps = threadDeps(requireConfig(c.env));
    const message = await deps.messages.get(c.var.tenant, c.req.param("thread"), c.req.param("id"));
    if (!message) throw notFound("message", c.req.param("id"), "message_id");
    return c.json(message);
  })
  .post("/v1/threads/:thread/messages/:id", async (c) => {
    const body = await parseBody(c, ModifyMetadata);
    const deps = threadDeps(requireConfig(c.env));
    const { thread, id } = c.req.param();
    const current = await deps.messages.get(c.var.tenant, thread, id);
    if (!current) throw notFound("message", id, "message_id");
    if (body.metadata === undefined) return c.json(current);
    const next = await deps.messages.setMetadata(c.var.tenant, thread, id, body.metadata ?? {});
    if (!next) throw notFound("message", id, "message_id");
    return c.json(next);
  })
  .delete("/v1/threads/:thread/messages/:id", async (c) => {
    const { thread, id } = c.req.param();
    return c.json(await deleteMessage(threadDeps(requireConfig(c.env)), c.var.tenant, thread, id));
  });
