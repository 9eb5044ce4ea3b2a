/** `/v1/assistants/{id}/files`: the Assistants v1 form of an assistant's files (see commands/assistant-files.ts). */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import {
  addAssistantFile,
  deleteAssistantFile,
  getAssistantFile,
  listAssistantFiles,
} from "../../commands/assistant-files";
import { type AuthedEnv, requireKey, requireRole } from "../../security/auth";
import { Id, ListQuery } from "../schemas";
import { parseBody, parseQuery } from "../validate";

export const AttachFile = z.strictObject({ file_id: Id });

/** The assistants group (api/assistants-v2) already authenticated these paths: once is enough. */
const keyOnce = createMiddleware<AuthedEnv>((c, next) => (c.var.principal ? next() : requireKey(c, next)));

export const assistantFiles = new Hono<AuthedEnv>()
  .use("*", keyOnce)
  .post("/:id/files", requireRole("editor"), async (c) => {
    const { file_id } = await parseBody(c, AttachFile);
    return c.json(await addAssistantFile(c.var.deps, c.var.principal, c.req.param("id"), file_id));
  })
  .get("/:id/files", async (c) =>
    c.json(
      await listAssistantFiles(c.var.deps, c.var.principal, c.req.param("id"), parseQuery(c, ListQuery)),
    ),
  )
  .get("/:id/files/:file", async (c) =>
    c.json(await getAssistantFile(c.var.deps, c.var.principal, c.req.param("id"), c.req.param("file"))),
  )
  .delete("/:id/files/:file", requireRole("editor"), async (c) =>
    c.json(await deleteAssistantFile(c.var.deps, c.var.principal, c.req.param("id"), c.req.param("file"))),
  );
