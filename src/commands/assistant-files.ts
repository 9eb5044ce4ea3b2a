/**
 * `/v1/assistants/{id}/files`, the Assistants v1 form of an assistant's files (see v1-files.ts):
 * attach, list, retrieve, detach (the file itself stays).
 */
import { ApiError, notFound } from "../errors";
import type { Principal } from "../security/principal";
import { type ListParams, pageOf } from "../store/list";
import { loadAssistant } from "./assistants";
import { requireFiles } from "./files";
import { changeV1File, type V1Assistant, type V1FileDeps } from "./v1-files";

type AssistantFileDeps = V1FileDeps;

const MAX_ASSISTANT_FILES = 20;

const assistantFile = (a: V1Assistant, fileId: string, createdAt: number) => ({
  id: fileId,
  object: "assistant.file" as const,
  created_at: createdAt,
  assistant_id: a.id,
});

/** `POST /v1/assistants/{id}/files` (v1): attach one of the tenant's files to the assistant's tools. */
export async function addAssistantFile(
  deps: AssistantFileDeps,
  principal: Principal,
  assistantId: string,
  fileId: string,
) {
  const a: V1Assistant = await loadAssistant(deps, principal, assistantId);
  const [file] = await requireFiles(deps, principal.tenant, [fileId], () => "file_id");
  const current = a.file_ids ?? [];
  if (!current.includes(fileId) && current.length >= MAX_ASSISTANT_FILES)
    throw new ApiError(400, "too_many_items", `An assistant has at most ${MAX_ASSISTANT_FILES} files.`, {
      param: "file_id",
    });
  if (!current.includes(fileId))
    await deps.assistants.put(
      principal.tenant,
      await changeV1File(deps, principal.tenant, a, fileId, "add"),
      null,
    );
  return assistantFile(a, fileId, file?.created_at ?? 0);
}

async function filesOf(deps: AssistantFileDeps, principal: Principal, assistantId: string) {
  const a: V1Assistant = await loadAssistant(deps, principal, assistantId);
  const files = await deps.files.many(principal.tenant, a.file_ids ?? []);
  return { a, files: files.map((f) => assistantFile(a, f.id, f.created_at)) };
}

export async function listAssistantFiles(
  deps: AssistantFileDeps,
  principal: Principal,
  assistantId: string,
  params: ListParams,
) {
  const { files } = await filesOf(deps, principal, assistantId);
  return pageOf(files, params);
}

export async function getAssistantFile(
  deps: AssistantFileDeps,
  principal: Principal,
  assistantId: string,
  fileId: string,
) {
  const { files } = await filesOf(deps, principal, assistantId);
  const found = files.find((f) => f.id === fileId);
  if (!found) throw notFound("file", fileId, "file_id");
  return found;
}

/** `DELETE /v1/assistants/{id}/files/{file_id}` (v1): the file stays; the assistant's tools lose it. */
export async function deleteAssistantFile(
  deps: AssistantFileDeps,
  principal: Principal,
  assistantId: string,
  fileId: string,
) {
  const a: V1Assistant = await loadAssistant(deps, principal, assistantId);
  if (!(a.file_ids ?? []).includes(fileId)) throw notFound("file", fileId, "file_id");
  await deps.assistants.put(
    principal.tenant,
    await changeV1File(deps, principal.tenant, a, fileId, "remove"),
    null,
  );
  return { id: fileId, object: "assistant.file.deleted" as const, deleted: true };
}
