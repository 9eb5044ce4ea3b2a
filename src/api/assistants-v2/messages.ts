/** Messages of a thread (Assistants v2 `thread.message`): create, list, retrieve, modify, delete. */
import { Hono } from "hono";
import { z } from "zod";
import {
  addThreadMessage,
  deleteMessage,
  getMessage,
  listMessages,
  modifyMessage,
} from "../../commands/threads";
import type { AuthedEnv } from "../../security/auth";
import { ListQuery } from "../schemas";
import { parseBody, parseQuery } from "../validate";
import { CreateMessage, ModifyMetadata } from "./schemas";

export const MessageListQuery = ListQuery.extend({ run_id: z.string().max(64).optional() });

export const messages = new Hono<AuthedEnv>()
  .post("/:thread/messages", async (c) => {
    const body = await parseBody(c, CreateMessage);
    return c.json(await addThreadMessage(c.var.deps, c.var.principal, c.req.param("thread"), body));
  })
  .get("/:thread/messages", async (c) => {
    const q = parseQuery(c, MessageListQuery);
    return c.json(
      await listMessages(c.var.deps, c.var.principal, c.req.param("thread"), { ...q, runId: q.run_id }),
    );
  })
  .get("/:thread/messages/:id", async (c) => {
    const { thread, id } = c.req.param();
    return c.json(await getMessage(c.var.deps, c.var.principal, thread, id));
  })
  .post("/:thread/messages/:id", async (c) => {
    const body = await parseBody(c, ModifyMetadata);
    const { thread, id } = c.req.param();
    return c.json(await modifyMessage(c.var.deps, c.var.principal, thread, id, body.metadata));
  })
  .delete("/:thread/messages/:id", async (c) => {
    const { thread, id } = c.req.param();
    return c.json(await deleteMessage(c.var.deps, c.var.principal, thread, id));
  });
