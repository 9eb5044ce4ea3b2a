/** `/v1/assistants`: stored instructions, model and settings per tenant (Assistants v2 shape; both front doors use them). */
import { Hono } from "hono";
import {
  createAssistant,
  deleteAssistant,
  listAssistants,
  loadAssistant,
  modifyAssistant,
  presentAssistant,
} from "../../commands/assistants";
import { type AuthedEnv, requireKey, requireRole } from "../../security/auth";
import { ListQuery } from "../schemas";
import { parseBody, parseQuery } from "../validate";
import { CreateAssistant, ModifyAssistant } from "./schemas";

export const assistants = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .post("/", requireRole("editor"), async (c) =>
    c.json(await createAssistant(c.var.deps, c.var.tenant, await parseBody(c, CreateAssistant))),
  )
  .get("/", async (c) => c.json(await listAssistants(c.var.deps, c.var.principal, parseQuery(c, ListQuery))))
  .get("/:id", async (c) =>
    c.json(presentAssistant(await loadAssistant(c.var.deps, c.var.principal, c.req.param("id")))),
  )
  .on(["POST", "PATCH"], "/:id", requireRole("editor"), async (c) => {
    const { deps, principal } = c.var;
    // The assistant is looked up before the body is read: an unknown id is a 404 whatever the body.
    const current = await loadAssistant(deps, principal, c.req.param("id"));
    const body = await parseBody(c, ModifyAssistant);
    return c.json(await modifyAssistant(deps, principal.tenant, current, body));
  })
  .delete("/:id", requireRole("editor"), async (c) =>
    c.json(await deleteAssistant(c.var.deps, c.var.principal, c.req.param("id"))),
  );
