/**
 * Ids of files and vector stores that requests carry inside messages, tools and tool_resources:
 * each must be the tenant's own (another tenant's id is a 404 exactly like an unknown one), and the
 * `tool_resources` helper that makes a vector store inline is carried out.
 */
import type { Attachment, ContentInput } from "../engine/messages";
import type { ToolDef, UrlAttachment } from "../engine/types";
import { ApiError } from "../errors";
import { checkOutboundUrl } from "../security/url-policy";
import type { FileStore, VectorStoreStore } from "../store/files";
import { requireFiles } from "./files";
import { createStore, requireStores, type VectorStoreDeps } from "./vector-stores";

export interface FileRefDeps {
  files: Pick<FileStore, "many">;
  vectorStores: Pick<VectorStoreStore, "many">;
}

interface MessageRefs {
  content: ContentInput;
  attachments?: Attachment[] | null | undefined;
  file_ids?: string[] | null | undefined;
}

/** Check every file id in messages (attachments, `image_file` parts) and every store id on tools. */
export async function checkFileRefs(
  deps: FileRefDeps,
  tenant: string,
  refs: { messages?: readonly MessageRefs[]; tools?: readonly ToolDef[] | undefined; messagesParam?: string },
): Promise<void> {
  const messages = refs.messages ?? [];
  const at = (i: number, rest: string) =>
    messages.length === 1 && !refs.messagesParam ? rest : `${refs.messagesParam ?? "messages"}.${i}.${rest}`;
  const fileRefs = messages.flatMap((m, i) => [
    ...(m.attachments ?? []).map((a, j) => ({ id: a.file_id, param: at(i, `attachments.${j}.file_id`) })),
    ...(m.file_ids ?? []).map((id, j) => ({ id, param: at(i, `file_ids.${j}`) })),
    ...(typeof m.content === "string" ? [] : m.content).flatMap((p, k) =>
      p.type === "image_file"
        ? [{ id: p.image_file.file_id, param: at(i, `content.${k}.image_file.file_id`) }]
        : [],
    ),
  ]);
  const storeRefs = (refs.tools ?? []).flatMap((t, i) =>
    t.type === "file_search"
      ? (t.file_search?.vector_store_ids ?? []).map((id, k) => ({
          id,
          param: `tools.${i}.file_search.vector_store_ids.${k}`,
        }))
      : [],
  );
  await Promise.all([
    requireFiles(
      deps,
      tenant,
      fileRefs.map((r) => r.id),
      (i) => fileRefs[i]?.param ?? "file_id",
    ),
    requireStores(
      deps,
      tenant,
      storeRefs.map((r) => r.id),
      (i) => storeRefs[i]?.param ?? "vector_store_id",
    ),
  ]);
}

/** `tool_resources` as callers send them (assistants and threads). */
export interface ToolResourcesInput {
  code_interpreter?: { file_ids?: string[] | undefined } | undefined;
  file_search?:
    | {
        vector_store_ids?: string[] | undefined;
        vector_stores?:
          | { file_ids?: string[] | undefined; chunking_strategy?: unknown; metadata?: unknown }[]
          | undefined;
      }
    | undefined;
}

/**
 * Check a `tool_resources` value and store it in its stored form: the tenant's files and stores
 * only; the `vector_stores` helper makes the store (owned by the tenant, marked as made for
 * `madeFor`) and names it in `vector_store_ids`.
 */
export async function resolveToolResources(
  deps: VectorStoreDeps,
  tenant: string,
  input: ToolResourcesInput | null | undefined,
  madeFor: { thread_id: string } | { assistant_id: string } | null,
): Promise<Record<string, unknown>> {
  if (!input) return {};
  const out: Record<string, unknown> = {};
  const ci = input.code_interpreter?.file_ids;
  if (ci) {
    await requireFiles(deps, tenant, ci, (i) => `tool_resources.code_interpreter.file_ids.${i}`);
    out.code_interpreter = { file_ids: ci };
  }
  const search = input.file_search;
  if (search) {
    const ids = search.vector_store_ids ?? [];
    if (ids.length > 0 && (search.vector_stores?.length ?? 0) > 0)
      throw new ApiError(400, "invalid_value", "Give vector_store_ids or vector_stores, not both.", {
        param: "tool_resources.file_search",
      });
    await requireStores(deps, tenant, ids, (i) => `tool_resources.file_search.vector_store_ids.${i}`);
    const made = await Promise.all(
      (search.vector_stores ?? []).map((v, i) =>
        createStore(
          deps,
          tenant,
          {
            file_ids: v.file_ids,
            chunking_strategy: v.chunking_strategy,
            metadata: v.metadata as Record<string, string> | null | undefined,
          },
          madeFor,
          `tool_resources.file_search.vector_stores.${i}.file_ids`,
        ),
      ),
    );
    out.file_search = { vector_store_ids: [...ids, ...made.map((s) => s.id)] };
  }
  return out;
}

type AttachmentTool = { type: "file_search" | "code_interpreter" };
export type AttachmentInput =
  | { file_id: string; tools: AttachmentTool[] }
  | { url: string; filename?: string | undefined; tools: AttachmentTool[] };

/**
 * The webhook API's attachments: by file id (checked with the message, like the Assistants API's),
 * or by URL — checked against the outbound URL policy now (400 `attachment_url_<reason>`), fetched
 * and uploaded by the run before it starts.
 */
export function splitAttachments(
  list: readonly AttachmentInput[],
  devMode: boolean,
): { attachments: Attachment[]; urls: UrlAttachment[] } {
  const attachments: Attachment[] = [];
  const urls: UrlAttachment[] = [];
  list.forEach((a, i) => {
    if ("file_id" in a) {
      attachments.push({ file_id: a.file_id, tools: a.tools });
      return;
    }
    const verdict = checkOutboundUrl(a.url, { devMode });
    if (!verdict.ok)
      throw new ApiError(
        400,
        `attachment_url_${verdict.reason}`,
        `attachments.${i}.url refused: ${verdict.message}`,
        {
          param: `attachments.${i}.url`,
        },
      );
    urls.push({
      url: verdict.url.href,
      filename: a.filename ?? null,
      tools: a.tools.map((t) => t.type),
      file_id: null,
    });
  });
  return { attachments, urls };
}
