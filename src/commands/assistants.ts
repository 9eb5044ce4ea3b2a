/**
 * Assistants: stored instructions, model and settings per tenant (Assistants v2 object shape).
 * What the API shows of one is `presentAssistant`: tool endpoint header values masked (they are
 * write-only, engine/secrets.ts), also in the answer to the create or modify that set them.
 */
import { maskTools, restoreMasked } from "../engine/secrets";
import type { Config } from "../config";
import type { ResponseFormat } from "../engine/types";
import { notFound } from "../errors";
import { assertAssistantAllowed, keyMayUse, type Principal } from "../security/principal";
import { newId } from "../store/ids";
import { type ListPage, type ListParams, toPage } from "../store/list";
import type { AssistantRecord, AssistantStore } from "../store/records";
import { checkModel } from "./models";
import { checkTools, maskedValue, type ToolInput } from "./tools";
import { visiblePage } from "./visible-page";

export type { AssistantRecord };

export interface AssistantDeps {
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
  tool_resources?: Record<string, unknown> | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  response_format?: ResponseFormat | undefined;
  reasoning_effort?: string | null | undefined;
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
  const record: AssistantRecord = {
    id: newId("asst"),
    object: "assistant",
    created_at: Math.floor(now / 1000),
    name: body.name ?? null,
    description: body.description ?? null,
    model: body.model,
    instructions: body.instructions ?? null,
    tools: checkTools(body.tools ?? [], deps.config.devMode),
    tool_resources: body.tool_resources ?? {},
    metadata: body.metadata ?? {},
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    response_format: body.response_format ?? "auto",
    reasoning_effort: body.reasoning_effort ?? null,
    tool_errors: body.tool_errors ?? "continue",
  };
  await deps.assistants.put(tenant, record, now);
  return presentAssistant(record);
}

/** The tenant's assistant (404 otherwise), if the key may use it (403 otherwise). */
export async function loadAssistant(
  deps: Pick<AssistantDeps, "assistants">,
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
  }
  const next = { ...current, ...defined, metadata: body.metadata ?? current.metadata } as AssistantRecord;
  await deps.assistants.put(tenant, next, null);
  return presentAssistant(next);
}

export async function deleteAssistant(
  deps: Pick<AssistantDeps, "assistants">,
  principal: Principal,
  id: string,
) {
  await loadAssistant(deps, principal, id);
  if (!(await deps.assistants.delete(principal.tenant, id))) throw notFound("assistant", id, "assistant_id");
  return { id, object: "assistant.deleted", deleted: true };
}
