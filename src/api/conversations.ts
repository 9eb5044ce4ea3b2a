/** The webhook API's caller-chosen conversation keys and the threads they map to. */
import { Hono } from "hono";
import { requireConfig } from "../config";
import { notFound } from "../errors";
import { type AuthedEnv, requireKey } from "../security/auth";
import { stores } from "../services";
import { ConversationKey } from "./messages";
import { presentThread } from "./threads";
import { parse } from "./validate";

export const conversations = new Hono<AuthedEnv>()
  .use("/v1/conversations/*", requireKey)
  .get("/v1/conversations/:key{.+}", async (c) => {
    const key = parse(ConversationKey, c.req.param("key"));
    const s = stores(requireConfig(c.env));
    const threadId = await s.threads.conversationThread(c.var.tenant, key);
    const thread = threadId ? await s.threads.get(c.var.tenant, threadId) : null;
    if (!thread) throw notFound("conversation", key, "conversation");
    return c.json(presentThread(thread));
  })
  .delete("/v1/conversations/:key{.+}", async (c) => {
    const key = parse(ConversationKey, c.req.param("key"));
    const deleted = await stores(requireConfig(c.env)).threads.forgetConversation(c.var.tenant, key);
    if (!deleted) throw notFound("conversation", key, "conversation");
    return c.json({ id: key, object: "conversation.deleted", deleted: true });
  });
