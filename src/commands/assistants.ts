/**
 * Assistants: stored instructions, model and settings per tenant (Assistants v2 object shape).
 * What the API shows of one is `presentAssistant`: tool endpoint header values masked (they are
 * write-only, engine/secrets.ts), also in the answer to the create or modify that set them.
 */
import { isBusyProblem, type OnBusy, resolveBusy } from "../engine/busy";
import type { ProgressEventType } from "../engine/progress";
import type { Config } from "../config";
import { resourcesOf } from "../engine/files";
import { maskTools, restoreMasked } from "../engine/secrets";
import type { ResponseFormat } from "../engine/types";
import { ApiError, notFound } from "../errors";
import { errorFields, log } from "../log";
import { assertAssistantAllowed, keyMayUse, type Principal } from "../security/principal";
import { newId } from "../store/ids";
import { type ListPage, type ListParams, toPage } from "../store/list";
import type { AssistantRecord, AssistantStore } from "../store/records";
import { checkFileRefs, resolveToolResources, type ToolResourcesInput } from "./file-refs";
import { checkModel } from "./models";
import { checkTools, maskedValue, type ToolInput } from "./tools";
import { v1Resources } from "./v1-files";
import { ignore404, type VectorStoreDeps } from "./vector-stores";
import { visiblePage } from "./visible-page";

export type { AssistantRecord };

export interface AssistantDeps extends Omit<VectorStoreDeps, "now"> {
  assistants: Pick<AssistantStore, "get" | "put" | "delete" | "list">;
  config: { devMode: boolean } & Pick<Config, "allowedModels">;
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
  on_busy?: OnBusy | null | undefined;
  debounce_ms?: number | null | undefined;
  /** threadhook: progress events the assistant's runs deliver by default. */
  events?: ProgressEventType[] | undefined;
  tool_resources?: ToolResourcesInput | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  response_format?: ResponseFormat | undefined;
  reasoning_effort?: string | null | undefined;
  /** Assistants v1: files for its code_interpreter and retrieval tools (v1-files.ts). */
  file_ids?: string[] | undefined;
}

/** An assistant as the API shows it: its tools' secret header values masked. */
export const presentAssistant = (a: AssistantRecord): AssistantRecord => ({
  ...a,
  tools: maskTools(a.tools),
});

export async function createAssistant(
  deps: AssistantDeps,
  tenant: string,
  body: AssistantFields & { model: string },
): Promise<AssistantRecord> {
  checkModel(deps.config, body.model);
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
    // Unset stays unset (null): only values the caller chose are sent to the model.
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    response_format: body.response_format ?? "auto",
    reasoning_effort: body.reasoning_effort ?? null,
    tool_errors: body.tool_errors ?? "continue",
    ...(body.on_busy ? { on_busy: body.on_busy } : {}),
    ...(body.debounce_ms ? { debounce_ms: body.debounce_ms } : {}),
    ...(body.events ? { events: body.events } : {}),
  };
  checkAssistantBusy(record);
  if (body.file_ids) {
    record.tool_resources = await v1Resources(deps, tenant, record, body.file_ids);
    (record as AssistantRecord & { file_ids?: string[] }).file_ids = body.file_ids;
  }
  await deps.assistants.put(tenant, record, now);
  return presentAssistant(record);
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
  const page = await visibleAssistants(deps, principal, params);
  return { ...page, data: page.data.map(presentAssistant) };
}

async function visibleAssistants(
  deps: Pick<AssistantDeps, "assistants">,
  principal: Principal,
  params: ListParams,
): Promise<ListPage<AssistantRecord>> {
  const list = (p: ListParams) => deps.assistants.list(principal.tenant, p);
  const scope = principal.assistantIds;
  if (scope === null) return list(params);
  // A scoped key sees only its assistants, and pages from them only: a cursor outside its scope
  // names nothing it can see.
  const cursor = params.after ?? params.before;
  if (cursor !== undefined && !scope.includes(cursor)) return toPage([], false);
  return visiblePage(list, (a) => keyMayUse(principal, a.id), params);
}

/** Apply a modify request to an assistant the caller loaded (loadAssistant) before reading the body. */
export async function modifyAssistant(
  deps: AssistantDeps,
  tenant: string,
  current: AssistantRecord,
  body: AssistantFields,
): Promise<AssistantRecord> {
  checkModel(deps.config, body.model);
  const defined: Record<string, unknown> = Object.fromEntries(
    Object.entries(body).filter(([, v]) => v !== undefined),
  );
  if (body.tools) {
    const restored = restoreMasked(checkTools(body.tools, deps.config.devMode, "tools", true), current.tools);
    if (restored.unknown !== null) throw maskedValue(restored.unknown);
    defined.tools = restored.tools;
    await checkFileRefs(deps, tenant, { tools: defined.tools as AssistantRecord["tools"] });
  }
  if (body.tool_resources !== undefined)
    defined.tool_resources = await resolveToolResources(deps, tenant, body.tool_resources, {
      assistant_id: current.id,
    });
  const next = { ...current, ...defined, metadata: body.metadata ?? current.metadata } as AssistantRecord;
  checkAssistantBusy(next);
  if (body.file_ids) next.tool_resources = await v1Resources(deps, tenant, next, body.file_ids);
  await deps.assistants.put(tenant, next, null);
  return presentAssistant(next);
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

/** An assistant's `debounce_ms` goes with its `on_busy` queue or merge (400 otherwise). */
function checkAssistantBusy(a: AssistantRecord): void {
  const problem = resolveBusy({ message: {}, assistant: a, doorDefault: "queue" });
  if (isBusyProblem(problem))
    throw new ApiError(400, "invalid_debounce", problem.message, { param: problem.param });
}
