/** The webhook API's caller-chosen conversation keys and the threads they map to. */
import { Hono } from "hono";
import { conversationThread, forgetConversation } from "../../commands/threads";
import { type AuthedEnv, requireKey } from "../../security/auth";
import { presentThread } from "../present";
import { ConversationKey } from "../schemas";
import { parse } from "../validate";

export const conversations = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .get("/:key{.+}", async (c) => {
    const key = parse(ConversationKey, c.req.param("key"));
    const { thread, expiresAt } = await conversationThread(c.var.deps, c.var.principal, key);
    return c.json({ ...presentThread(thread), expires_at: expiresAt });
  })
  .delete("/:key{.+}", async (c) => {
    const key = parse(ConversationKey, c.req.param("key"));
    return c.json(await forgetConversation(c.var.deps, c.var.principal, key));
  });
