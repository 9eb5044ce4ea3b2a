/** Assistants: stored instructions, model and settings per tenant (Assistants v2 object shape). */
import { resourcesOf } from "../engine/files";
import type { ResponseFormat } from "../engine/types";
import { notFound } from "../errors";
import { errorFields, log } from "../log";
import { assertAssistantAllowed, keyMayUse, type Principal } from "../security/principal";
import { newId } from "../store/ids";
import type { ListPage, ListParams } from "../store/list";
import type { AssistantRecord, AssistantStore } from "../store/records";
import { checkFileRefs, resolveToolResources, type ToolResourcesInput } from "./file-refs";
import { checkTools, type ToolInput } from "./tools";
import { v1Resources } from "./v1-files";
import { ignore404, type VectorStoreDeps } from "./vector-stores";

export type { AssistantRecord };

export interface AssistantDeps extends Omit<VectorStoreDeps, "now"> {
  assistants: Pick<AssistantStore, "get" | "put" | "delete" | "list">;
  config: { devMode: boolean };
  now: () => number;
}

/** The fields a create or modify may set (modify: each optional; create: `model` required). */
export interface AssistantFields {
  model?: string | undefined;
  name?: string | null | undefined;
  description?: string | null | undefined;
  instructions?: string | null | undefined;
  tools?: ToolInput[] | undefined;
  tool_errors?: "continue" | "fail" | undefined;
  tool_resources?: ToolResourcesInput | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  response_format?: ResponseFormat | undefined;
  reasoning_effort?: string | null | undefined;
  /** Assistants v1: files for its code_interpreter and retrieval tools (v1-files.ts). */
  file_ids?: string[] | undefined;
}

export async function createAssistant(
  deps: AssistantDeps,
  tenant: string,
  body: AssistantFields & { model: string },
): Promise<AssistantRecord> {
  const now = deps.now();
  const id = newId("asst");
  const tools = checkTools(body.tools ?? [], deps.config.devMode);
  await checkFileRefs(deps, tenant, { tools });
  const record: AssistantRecord = {
    id,
    object: "assistant",
    created_at: Math.floor(now / 1000),
    name: body.name ?? null,
    description: body.description ?? null,
    model: body.model,
    instructions: body.instructions ?? null,
    tools,
    tool_resources: await resolveToolResources(deps, tenant, body.tool_resources, { assistant_id: id }),
    metadata: body.metadata ?? {},
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    response_format: body.response_format ?? "auto",
    reasoning_effort: body.reasoning_effort ?? null,
    tool_errors: body.tool_errors ?? "continue",
  };
  if (body.file_ids) {
    record.tool_resources = await v1Resources(deps, tenant, record, body.file_ids);
    (record as AssistantRecord & { file_ids?: string[] }).file_ids = body.file_ids;
  }
  await deps.assistants.put(tenant, record, now);
  return record;
}

/** The tenant's assistant (404 otherwise), if the key may use it (403 otherwise). */
export async function loadAssistant(
  deps: { assistants: Pick<AssistantStore, "get"> },
  principal: Principal,
  id: string,
): Promise<AssistantRecord> {
  const found = await deps.assistants.get(principal.tenant, id);
  if (!found) throw notFound("assistant", id, "assistant_id");
  assertAssistantAllowed(principal, id);
  return found;
}

export async function listAssistants(
  deps: Pick<AssistantDeps, "assistants">,
  principal: Principal,
  params: ListParams,
): Promise<ListPage<AssistantRecord>> {
  const page = await deps.assistants.list(principal.tenant, params);
  if (principal.assistantIds === null) return page;
  // A scoped key sees only its assistants (a page may then hold fewer than `limit`).
  const data = page.data.filter((a) => keyMayUse(principal, a.id));
  return { ...page, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** Apply a modify request to an assistant the caller loaded (loadAssistant) before reading the body. */
export async function modifyAssistant(
  deps: AssistantDeps,
  tenant: string,
  current: AssistantRecord,
  body: AssistantFields,
): Promise<AssistantRecord> {
  const defined: Record<string, unknown> = Object.fromEntries(
    Object.entries(body).filter(([, v]) => v !== undefined),
  );
  if (body.tools) {
    defined.tools = checkTools(body.tools, deps.config.devMode);
    await checkFileRefs(deps, tenant, { tools: defined.tools as AssistantRecord["tools"] });
  }
  if (body.tool_resources !== undefined)
    defined.tool_resources = await resolveToolResources(deps, tenant, body.tool_resources, {
      assistant_id: current.id,
    });
  const next = { ...current, ...defined, metadata: body.metadata ?? current.metadata } as AssistantRecord;
  if (body.file_ids) next.tool_resources = await v1Resources(deps, tenant, next, body.file_ids);
  await deps.assistants.put(tenant, next, null);
  return next;
}

export async function deleteAssistant(deps: AssistantDeps, principal: Principal, id: string) {
  const current = await loadAssistant(deps, principal, id);
  if (!(await deps.assistants.delete(principal.tenant, id))) throw notFound("assistant", id, "assistant_id");
  await deleteStoresMadeFor(deps, principal.tenant, current);
  return { id, object: "assistant.deleted", deleted: true };
}

/** Stores threadhook made for the assistant (v1 `file_ids`, the `vector_stores` helper) go with it. */
async function deleteStoresMadeFor(deps: AssistantDeps, tenant: string, a: AssistantRecord) {
  const ids = resourcesOf(a.tool_resources).vector_store_ids;
  const made = (await deps.vectorStores.many(tenant, ids)).filter(
    (s) => s.made_for && "assistant_id" in s.made_for && s.made_for.assistant_id === a.id,
  );
  for (const store of made) {
    try {
      await deps.openaiFiles.deleteStore(store.id).catch(ignore404);
      await deps.vectorStores.delete(tenant, store.id);
    } catch (err) {
      log("warn", "could not delete a deleted assistant's vector store", {
        assistant_id: a.id,
        ...errorFields(err),
      });
    }
  }
}
