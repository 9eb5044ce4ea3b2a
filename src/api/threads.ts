/** Threads and the caller-chosen conversation keys that map to them. */
import { Hono } from "hono";
import { requireConfig } from "../config";
import { notFound } from "../errors";
import { type AuthedEnv, requireKey } from "../security/auth";
import { stores } from "../services";
import { ConversationKey } from "./messages";
import { parse } from "./validate";

const publicThread = <T extends { conversation_id?: string | null }>(t: T) => {
  const { conversation_id: _hidden, ...rest } = t;
  return rest;
};

export const threads = new Hono<AuthedEnv>()
  .use("/v1/threads/*", requireKey)
  .use("/v1/conversations/*", requireKey)
  .get("/v1/threads/:id", async (c) => {
    const id = c.req.param("id");
    const thread = await stores(requireConfig(c.env)).threads.get(c.var.tenant, id);
    if (!thread) throw notFound("thread", id, "thread_id");
    return c.json(publicThread(thread));
  })
  .get("/v1/conversations/:key{.+}", async (c) => {
    const key = parse(ConversationKey, c.req.param("key"));
    const s = stores(requireConfig(c.env));
    const threadId = await s.threads.conversationThread(c.var.tenant, key);
    const thread = threadId ? await s.threads.get(c.var.tenant, threadId) : null;
    if (!thread) throw notFound("conversation", key, "conversation");
    return c.json(publicThread(thread));
  })
  .delete("/v1/conversations/:key{.+}", async (c) => {
    const key = parse(ConversationKey, c.req.param("key"));
    const deleted = await stores(requireConfig(c.env)).threads.forgetConversation(c.var.tenant, key);
    if (!deleted) throw notFound("conversation", key, "conversation");
    return c.json({ id: key, object: "conversation.deleted", deleted: true });
  });
