/** Assistants: stored instructions, model and settings per tenant (Assistants v2 object shape). */
import { Hono } from "hono";
import { z } from "zod";
import { requireConfig } from "../config";
import { notFound } from "../errors";
import { MAX_TEXT_CHARS } from "./limits";
import {
  type AuthedEnv,
  assertAssistantAllowed,
  keyMayUse,
  type Principal,
  requireKey,
  requireRole,
} from "../security/auth";
import { stores } from "../services";
import { newId } from "../store/ids";
import type { AssistantRecord } from "../store/records";
import { checkTools, ResponseFormat, Tools } from "./tools-schema";
import { ListQuery, Metadata, parseBody, parseQuery } from "./validate";

const Model = z.string().min(1).max(256);

/** Modify takes every field as optional; create requires `model`. Unknown fields are refused. */
const ModifyAssistant = z.strictObject({
  model: Model.optional(),
  name: z.string().max(256).nullable().optional(),
  description: z.string().max(512).nullable().optional(),
  instructions: z.string().max(MAX_TEXT_CHARS).nullable().optional(),
  tools: Tools.optional(),
  tool_errors: z.enum(["continue", "fail"]).optional(),
  tool_resources: z.record(z.string(), z.unknown()).nullable().optional(),
  metadata: Metadata.nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  response_format: ResponseFormat.optional(),
  reasoning_effort: z.string().max(16).nullable().optional(),
});
const CreateAssistant = ModifyAssistant.extend({ model: Model });

export const assistants = new Hono<AuthedEnv>()
  .use("/v1/assistants", requireKey)
  .use("/v1/assistants/*", requireKey)
  .post("/v1/assistants", requireRole("editor"), async (c) => {
    const body = await parseBody(c, CreateAssistant);
    const config = requireConfig(c.env);
    const now = Date.now();
    const record: AssistantRecord = {
      id: newId("asst"),
      object: "assistant",
      created_at: Math.floor(now / 1000),
      name: body.name ?? null,
      description: body.description ?? null,
      model: body.model,
      instructions: body.instructions ?? null,
      tools: checkTools(body.tools ?? [], config.devMode),
      tool_resources: body.tool_resources ?? {},
      metadata: body.metadata ?? {},
      temperature: body.temperature ?? 1,
      top_p: body.top_p ?? 1,
      response_format: body.response_format ?? "auto",
      reasoning_effort: body.reasoning_effort ?? null,
      tool_errors: body.tool_errors ?? "continue",
    };
    await stores(config).assistants.put(c.var.tenant, record, now);
    return c.json(record);
  })
  .get("/v1/assistants", async (c) => {
    const q = parseQuery(c, ListQuery);
    const page = await stores(requireConfig(c.env)).assistants.list(c.var.tenant, q);
    if (c.var.principal.assistantIds === null) return c.json(page);
    // A scoped key sees only its assistants (a page may then hold fewer than `limit`).
    const data = page.data.filter((a) => keyMayUse(c.var.principal, a.id));
    return c.json({ ...page, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  })
  .get("/v1/assistants/:id", async (c) =>
    c.json(await load(c.env, c.var.tenant, c.req.param("id"), c.var.principal)),
  )
  .on(["POST", "PATCH"], "/v1/assistants/:id", requireRole("editor"), async (c) => {
    const current = await load(c.env, c.var.tenant, c.req.param("id"), c.var.principal);
    const body = await parseBody(c, ModifyAssistant);
    const defined = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    if (body.tools) defined.tools = checkTools(body.tools, requireConfig(c.env).devMode);
    const next = { ...current, ...defined, metadata: body.metadata ?? current.metadata } as AssistantRecord;
    await stores(requireConfig(c.env)).assistants.put(c.var.tenant, next, null);
    return c.json(next);
  })
  .delete("/v1/assistants/:id", requireRole("editor"), async (c) => {
    const id = c.req.param("id");
    await load(c.env, c.var.tenant, id, c.var.principal);
    const deleted = await stores(requireConfig(c.env)).assistants.delete(c.var.tenant, id);
    if (!deleted) throw notFound("assistant", id, "assistant_id");
    return c.json({ id, object: "assistant.deleted", deleted: true });
  });

/** The tenant's assistant (404 otherwise), if the key may use it (403 otherwise). */
export async function load(
  env: object,
  tenant: string,
  id: string,
  principal: Principal,
): Promise<AssistantRecord> {
  const found = await stores(requireConfig(env)).assistants.get(tenant, id);
  if (!found) throw notFound("assistant", id, "assistant_id");
  assertAssistantAllowed(principal, id);
  return found;
}
