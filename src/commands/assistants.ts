/** Assistants: stored instructions, model and settings per tenant (Assistants v2 object shape). */
import type { ResponseFormat } from "../engine/types";
import { notFound } from "../errors";
import { assertAssistantAllowed, keyMayUse, type Principal } from "../security/principal";
import { newId } from "../store/ids";
import type { ListPage, ListParams } from "../store/list";
import type { AssistantRecord, AssistantStore } from "../store/records";
import { checkTools, type ToolInput } from "./tools";

export type { AssistantRecord };

export interface AssistantDeps {
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
  tool_resources?: Record<string, unknown> | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  response_format?: ResponseFormat | undefined;
  reasoning_effort?: string | null | undefined;
}

export async function createAssistant(
  deps: AssistantDeps,
  tenant: string,
  body: AssistantFields & { model: string },
): Promise<AssistantRecord> {
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
    // Unset stays unset (null): only values the caller chose are sent to the model.
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    response_format: body.response_format ?? "auto",
    reasoning_effort: body.reasoning_effort ?? null,
    tool_errors: body.tool_errors ?? "continue",
  };
  await deps.assistants.put(tenant, record, now);
  return record;
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
  if (body.tools) defined.tools = checkTools(body.tools, deps.config.devMode);
  const next = { ...current, ...defined, metadata: body.metadata ?? current.metadata } as AssistantRecord;
  await deps.assistants.put(tenant, next, null);
  return next;
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
