/** Threads (Assistants v2 `thread` objects, plus threadhook's `conversation` key): create, read, modify, delete. */
import { Hono } from "hono";
import { createThread, deleteThread, loadThread, modifyThread } from "../../commands/threads";
import type { AuthedEnv } from "../../security/auth";
import { presentThread } from "../present";
import { parseBody } from "../validate";
import { CreateThread, ModifyThread } from "./schemas";

export const threads = new Hono<AuthedEnv>()
  .post("/", async (c) => {
    const body = await parseBody(c, CreateThread);
    return c.json(presentThread(await createThread(c.var.deps, c.var.principal, body)));
  })
  .get("/:id", async (c) =>
    c.json(presentThread(await loadThread(c.var.deps, c.var.principal, c.req.param("id")))),
  )
  .post("/:id", async (c) => {
    const { deps, principal } = c.var;
    // Looked up before the body is read: an unknown thread is a 404 whatever the body.
    const current = await loadThread(deps, principal, c.req.param("id"));
    const body = await parseBody(c, ModifyThread);
    return c.json(presentThread(await modifyThread(deps, principal.tenant, current, body)));
  })
  .delete("/:id", async (c) => c.json(await deleteThread(c.var.deps, c.var.principal, c.req.param("id"))));
