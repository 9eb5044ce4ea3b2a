/**
 * Assistants v1 `file_ids` on an assistant, as v2 `tool_resources`: the code interpreter gets the
 * files in `code_interpreter.file_ids`; file_search (v1 `retrieval`) a vector store threadhook
 * makes for the assistant (`made_for`), kept in step as files come and go.
 */
import type { ToolDef } from "../engine/types";
import type { AssistantRecord, AssistantStore } from "../store/records";
import { requireFiles } from "./files";
import { createStore, ignore404, type VectorStoreDeps } from "./vector-stores";

export interface V1FileDeps extends VectorStoreDeps {
  assistants: Pick<AssistantStore, "get" | "put">;
}

/** An assistant with the v1 file list it carries beside the v2 fields. */
export type V1Assistant = AssistantRecord & { file_ids?: string[] };

const has = (tools: ToolDef[], type: ToolDef["type"]) => tools.some((t) => t.type === type);

/** The vector store this module made for the assistant's v1 files, if any. */
export async function v1Store(deps: V1FileDeps, tenant: string, a: V1Assistant): Promise<string | null> {
  const ids =
    ((a.tool_resources.file_search ?? {}) as { vector_store_ids?: string[] }).vector_store_ids ?? [];
  const owned = await deps.vectorStores.many(tenant, ids);
  return (
    owned.find((s) => s.made_for && "assistant_id" in s.made_for && s.made_for.assistant_id === a.id)?.id ??
    null
  );
}

/**
 * `tool_resources` for an assistant whose v1 files are `fileIds` (create, or modify with
 * `file_ids`): the code interpreter's files, and a new store of them for file_search (the previous
 * v1 store is deleted).
 */
export async function v1Resources(
  deps: V1FileDeps,
  tenant: string,
  a: V1Assistant,
  fileIds: string[],
): Promise<Record<string, unknown>> {
  await requireFiles(deps, tenant, fileIds, (i) => `file_ids.${i}`);
  const resources: Record<string, unknown> = { ...a.tool_resources };
  if (has(a.tools, "code_interpreter")) resources.code_interpreter = { file_ids: fileIds };
  if (has(a.tools, "file_search")) {
    const old = await v1Store(deps, tenant, a);
    const store =
      fileIds.length > 0
        ? await createStore(
            deps,
            tenant,
            { name: `assistant ${a.id}`, file_ids: fileIds },
            { assistant_id: a.id },
          )
        : null;
    resources.file_search = { vector_store_ids: store ? [store.id] : [] };
    if (old) await dropStore(deps, tenant, old);
  }
  return resources;
}

async function dropStore(deps: V1FileDeps, tenant: string, id: string) {
  await deps.openaiFiles.deleteStore(id).catch(ignore404);
  await deps.vectorStores.delete(tenant, id);
}

/** One file more or less for an assistant's v1 files, in its store too (made on first use). */
export async function changeV1File(
  deps: V1FileDeps,
  tenant: string,
  a: V1Assistant,
  fileId: string,
  change: "add" | "remove",
): Promise<V1Assistant> {
  const current = a.file_ids ?? [];
  const fileIds =
    change === "add"
      ? [...current.filter((id) => id !== fileId), fileId]
      : current.filter((id) => id !== fileId);
  const resources: Record<string, unknown> = { ...a.tool_resources };
  if (has(a.tools, "code_interpreter")) resources.code_interpreter = { file_ids: fileIds };
  if (has(a.tools, "file_search")) {
    const store = await v1Store(deps, tenant, a);
    if (store && change === "add")
      await deps.openaiFiles.storeCall("POST", store, "/files", { file_id: fileId });
    if (store && change === "remove")
      await deps.openaiFiles
        .storeCall("DELETE", store, `/files/${encodeURIComponent(fileId)}`)
        .catch(ignore404);
    if (!store && change === "add")
      return { ...a, file_ids: fileIds, tool_resources: await v1Resources(deps, tenant, a, fileIds) };
  }
  return { ...a, file_ids: fileIds, tool_resources: resources };
}
