/**
 * Vector stores per tenant, on OpenAI's Vector Stores API: the tenant's record makes a store id
 * usable (another tenant's id answers 404 like an unknown one); files and file batches of a store
 * are the store owner's, and only the tenant's own files go into them.
 */
import { ApiError, notFound } from "../errors";
import type { FileStore, VectorStoreRecord, VectorStoreStore } from "../store/files";
import type { ListPage, ListParams } from "../store/list";
import type { FilesUpstream, ListQuery, UpstreamObject } from "../upstream/files";
import { fileNotFound, requireFiles } from "./files";
import { upstreamCall } from "./upstream-errors";

export interface VectorStoreDeps {
  vectorStores: Pick<VectorStoreStore, "get" | "put" | "delete" | "list" | "many">;
  files: Pick<FileStore, "many">;
  openaiFiles: Pick<
    FilesUpstream,
    "createStore" | "retrieveStore" | "modifyStore" | "deleteStore" | "storeCall"
  >;
  now: () => number;
}

export const storeNotFound = (id: string, param = "vector_store_id") => notFound("vector_store", id, param);
const batchNotFound = (id: string) => notFound("file_batch", id, "batch_id");

export function presentStore(s: VectorStoreRecord) {
  const { made_for: _made, ...shown } = s;
  return shown;
}

export interface CreateStoreBody {
  name?: string | undefined;
  description?: string | undefined;
  file_ids?: string[] | undefined;
  metadata?: Record<string, string> | null | undefined;
  expires_after?: unknown;
  chunking_strategy?: unknown;
}

/** Create a store (optionally with files of the tenant's); `madeFor` marks stores threadhook made. */
export async function createStore(
  deps: VectorStoreDeps,
  tenant: string,
  body: CreateStoreBody,
  madeFor: VectorStoreRecord["made_for"] = null,
  param = "file_ids",
): Promise<VectorStoreRecord> {
  await requireFiles(deps, tenant, body.file_ids ?? [], (i) => `${param}.${i}`);
  const request = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null));
  const created = await upstreamCall(
    () => deps.openaiFiles.createStore(request),
    () => fileNotFound(body.file_ids?.[0] ?? "", param),
  );
  const record = snapshot(created, madeFor);
  await deps.vectorStores.put(tenant, record, deps.now());
  return record;
}

function snapshot(o: UpstreamObject, madeFor: VectorStoreRecord["made_for"]): VectorStoreRecord {
  return { ...(o as unknown as VectorStoreRecord), object: "vector_store", made_for: madeFor };
}

/** The tenant's store record (404 otherwise), without asking OpenAI. */
export async function ownedStore(
  deps: Pick<VectorStoreDeps, "vectorStores">,
  tenant: string,
  id: string,
  param?: string,
) {
  const found = await deps.vectorStores.get(tenant, id);
  if (!found) throw storeNotFound(id, param);
  return found;
}

/** Every id must be one of the tenant's stores: the first that is not answers 404. */
export async function requireStores(
  deps: { vectorStores: Pick<VectorStoreStore, "many"> },
  tenant: string,
  ids: readonly string[],
  param: (index: number) => string,
): Promise<void> {
  const found = new Set((await deps.vectorStores.many(tenant, [...new Set(ids)])).map((s) => s.id));
  const missing = ids.findIndex((id) => !found.has(id));
  if (missing >= 0) throw storeNotFound(ids[missing] as string, param(missing));
}

/** The store as OpenAI has it now (the snapshot is refreshed). */
export async function getStore(
  deps: VectorStoreDeps,
  tenant: string,
  id: string,
): Promise<VectorStoreRecord> {
  const owned = await ownedStore(deps, tenant, id);
  const fresh = await upstreamCall(
    () => deps.openaiFiles.retrieveStore(id),
    () => storeNotFound(id),
  );
  const record = snapshot(fresh, owned.made_for);
  await deps.vectorStores.put(tenant, record, null);
  return record;
}

/** A page of the tenant's stores; those still ingesting are refreshed from OpenAI, the rest shown as last seen. */
export async function listStores(
  deps: VectorStoreDeps,
  tenant: string,
  params: ListParams,
): Promise<ListPage<ReturnType<typeof presentStore>>> {
  const page = await deps.vectorStores.list(tenant, params);
  const data = await Promise.all(
    page.data.map((s) => (s.status === "in_progress" ? getStore(deps, tenant, s.id).catch(() => s) : s)),
  );
  return { ...page, data: data.map(presentStore) };
}

export async function modifyStore(
  deps: VectorStoreDeps,
  tenant: string,
  id: string,
  body: {
    name?: string | null | undefined;
    metadata?: Record<string, string> | null | undefined;
    expires_after?: unknown;
  },
) {
  const owned = await ownedStore(deps, tenant, id);
  const request = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
  const fresh = await upstreamCall(
    () => deps.openaiFiles.modifyStore(id, request),
    () => storeNotFound(id),
  );
  const record = snapshot(fresh, owned.made_for);
  await deps.vectorStores.put(tenant, record, null);
  return record;
}

export async function deleteStore(deps: VectorStoreDeps, tenant: string, id: string) {
  await ownedStore(deps, tenant, id);
  await upstreamCall(
    () => deps.openaiFiles.deleteStore(id).catch(ignore404),
    () => storeNotFound(id),
  );
  await deps.vectorStores.delete(tenant, id);
  return { id, object: "vector_store.deleted" as const, deleted: true };
}

export const ignore404 = (err: unknown) => {
  if ((err as { status?: unknown }).status !== 404) throw err;
};

/** Add one of the tenant's files to one of their stores (ingestion starts upstream). */
export async function addStoreFile(
  deps: VectorStoreDeps,
  tenant: string,
  storeId: string,
  body: { file_id: string; attributes?: unknown; chunking_strategy?: unknown },
) {
  await ownedStore(deps, tenant, storeId);
  await requireFiles(deps, tenant, [body.file_id], () => "file_id");
  const request = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
  return upstreamCall(
    () => deps.openaiFiles.storeCall("POST", storeId, "/files", request),
    () => storeNotFound(storeId),
  );
}

/** A store's files or one of them, a batch or its files: what OpenAI says, for the store's owner. */
export async function readStore(
  deps: VectorStoreDeps,
  tenant: string,
  storeId: string,
  path: { file?: string; batch?: string; files?: boolean },
  query?: ListQuery,
) {
  await ownedStore(deps, tenant, storeId);
  const rest = path.batch
    ? `/file_batches/${encodeURIComponent(path.batch)}${path.files ? "/files" : ""}`
    : `/files${path.file ? `/${encodeURIComponent(path.file)}` : ""}`;
  return upstreamCall(
    () => deps.openaiFiles.storeCall("GET", storeId, rest, undefined, query),
    () =>
      path.batch ? batchNotFound(path.batch) : path.file ? fileNotFound(path.file) : storeNotFound(storeId),
  );
}

export async function deleteStoreFile(
  deps: VectorStoreDeps,
  tenant: string,
  storeId: string,
  fileId: string,
) {
  await ownedStore(deps, tenant, storeId);
  return upstreamCall(
    () => deps.openaiFiles.storeCall("DELETE", storeId, `/files/${encodeURIComponent(fileId)}`),
    () => fileNotFound(fileId),
  );
}

/** A file batch over the tenant's files (`file_ids`, or `files` with per-file attributes). */
export async function createBatch(
  deps: VectorStoreDeps,
  tenant: string,
  storeId: string,
  body: { file_ids?: string[] | undefined; files?: { file_id: string }[] | undefined } & Record<
    string,
    unknown
  >,
) {
  await ownedStore(deps, tenant, storeId);
  if (body.file_ids && body.files)
    throw new ApiError(400, "mutually_exclusive_parameters", "Give 'file_ids' or 'files', not both.", {
      param: "files",
    });
  const ids = body.file_ids ?? body.files?.map((f) => f.file_id) ?? [];
  if (ids.length === 0)
    throw new ApiError(400, "missing_required_parameter", "Missing required parameter: 'file_ids'.", {
      param: "file_ids",
    });
  await requireFiles(deps, tenant, ids, (i) => (body.file_ids ? `file_ids.${i}` : `files.${i}.file_id`));
  const request = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
  return upstreamCall(
    () => deps.openaiFiles.storeCall("POST", storeId, "/file_batches", request),
    () => storeNotFound(storeId),
  );
}

export async function cancelBatch(deps: VectorStoreDeps, tenant: string, storeId: string, batchId: string) {
  await ownedStore(deps, tenant, storeId);
  return upstreamCall(
    () => deps.openaiFiles.storeCall("POST", storeId, `/file_batches/${encodeURIComponent(batchId)}/cancel`),
    () => batchNotFound(batchId),
  );
}
