// /v1/vector_stores, their files and file batches. Ingestion takes `ingestDelayMs` (scaled) per file;
// a file's own text may script it: `#sim {"ingest_delay_ms": 2000, "ingest_fail": "invalid_file"}`.
import { findFile, page } from "./files.ts";
import {
  countFiles,
  extensionOf,
  hexId,
  ingestStatus,
  SEARCHABLE,
  type SimStoreFile,
  type SimVectorStore,
} from "./files-state.ts";
import { invalidParam, missingParam, nowSeconds, SimError } from "./http.ts";
import { matchingBrace } from "./script.ts";
import type { SimState } from "./state.ts";
import { validateMetadata } from "./validate.ts";

const CHUNKING = { type: "static", static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } };
const STATUSES = new Set(["in_progress", "completed", "failed", "cancelled"]);

export function findStore(state: SimState, id: string, param: string | null = null): SimVectorStore {
  const store = state.vectorStores.get(id);
  if (!store) throw new SimError(404, `No vector store found with id '${id}'.`, { param });
  return store;
}

export function storeObject(s: SimVectorStore): Record<string, unknown> {
  const now = Date.now();
  const counts = countFiles(s.files.values(), now);
  let usage = 0;
  for (const f of s.files.values()) if (ingestStatus(f, now) === "completed") usage += sizeOf(f);
  return {
    id: s.id,
    object: "vector_store",
    created_at: s.createdAt,
    name: s.name,
    description: s.description,
    usage_bytes: usage,
    file_counts: counts,
    status: counts.in_progress > 0 ? "in_progress" : "completed",
    expires_after: s.expiresAfter,
    expires_at: null,
    last_active_at: s.lastActiveAt,
    metadata: s.metadata,
  };
}

/** Bytes of each store file's source, for `usage_bytes`. */
const sizes = new WeakMap<SimStoreFile, number>();
const sizeOf = (f: SimStoreFile): number => sizes.get(f) ?? 0;

export function storeFileObject(storeId: string, f: SimStoreFile): Record<string, unknown> {
  const status = ingestStatus(f);
  return {
    id: f.fileId,
    object: "vector_store.file",
    usage_bytes: status === "completed" ? sizeOf(f) : 0,
    created_at: f.createdAt,
    vector_store_id: storeId,
    status,
    last_error: status === "failed" ? f.failure : null,
    chunking_strategy: CHUNKING,
    attributes: f.attributes ?? {},
  };
}

export function createStore(state: SimState, body: Record<string, unknown>): SimVectorStore {
  const fileIds = stringList(body.file_ids, "file_ids", 500);
  const now = nowSeconds();
  const store: SimVectorStore = {
    id: hexId("vs"),
    createdAt: now,
    name: typeof body.name === "string" ? body.name : "",
    description: typeof body.description === "string" ? body.description : null,
    metadata: validateMetadata(body.metadata, "metadata") ?? {},
    expiresAfter: expiresAfter(body.expires_after),
    files: new Map(),
    batches: new Map(),
    lastActiveAt: now,
  };
  for (const id of fileIds) findFile(state, id, "file_ids");
  for (const id of fileIds) attach(state, store, id, null, null);
  state.vectorStores.set(store.id, store);
  state.stats.vectorStoresCreated++;
  return store;
}

export function modifyStore(state: SimState, id: string, body: Record<string, unknown>): SimVectorStore {
  const store = findStore(state, id);
  if (typeof body.name === "string") store.name = body.name;
  if (body.metadata !== undefined) store.metadata = validateMetadata(body.metadata, "metadata") ?? {};
  if (body.expires_after !== undefined) store.expiresAfter = expiresAfter(body.expires_after);
  return store;
}

export function listStores(state: SimState, query: URLSearchParams): Record<string, unknown> {
  return page([...state.vectorStores.values()].map(storeObject), query);
}

export function deleteStore(state: SimState, id: string): Record<string, unknown> {
  findStore(state, id);
  state.vectorStores.delete(id);
  return { id, object: "vector_store.deleted", deleted: true };
}

/** Add one file to a store: its ingestion starts now (re-adding a file starts it again). */
function attach(
  state: SimState,
  store: SimVectorStore,
  fileIdValue: string,
  batchId: string | null,
  attributes: Record<string, unknown> | null,
): SimStoreFile {
  const file = findFile(state, fileIdValue, "file_id");
  const script = ingestScript(file.content.toString("utf8"));
  const supported = SEARCHABLE.has(extensionOf(file.filename));
  const failure = !supported
    ? {
        code: "unsupported_file",
        message: `The file type of ${file.filename} is not supported for file search.`,
      }
    : script.fail
      ? { code: script.fail, message: `The file ${file.filename} could not be ingested (scripted).` }
      : null;
  const delay = (script.delayMs ?? state.ingestDelayMs) * state.timeScale;
  const entry: SimStoreFile = {
    fileId: file.id,
    createdAt: nowSeconds(),
    readyAtMs: Date.now() + delay,
    failure,
    cancelled: false,
    batchId,
    attributes,
  };
  sizes.set(entry, file.content.length);
  store.files.set(file.id, entry);
  store.lastActiveAt = nowSeconds();
  return entry;
}

/** `#sim {"ingest_delay_ms": N, "ingest_fail": "code"}` in a file's text. */
function ingestScript(text: string): { delayMs?: number; fail?: string } {
  const at = text.indexOf("#sim ");
  const open = at < 0 ? -1 : text.indexOf("{", at);
  const end = open < 0 ? -1 : matchingBrace(text, open);
  if (end < 0) return {};
  try {
    const raw = JSON.parse(text.slice(open, end + 1)) as Record<string, unknown>;
    return {
      ...(typeof raw.ingest_delay_ms === "number" ? { delayMs: raw.ingest_delay_ms } : {}),
      ...(typeof raw.ingest_fail === "string" ? { fail: raw.ingest_fail } : {}),
    };
  } catch {
    return {};
  }
}

export function addStoreFile(state: SimState, storeId: string, body: Record<string, unknown>) {
  const store = findStore(state, storeId);
  if (typeof body.file_id !== "string" || body.file_id === "") throw missingParam("file_id");
  return storeFileObject(store.id, attach(state, store, body.file_id, null, attributes(body)));
}

export function getStoreFile(state: SimState, storeId: string, id: string) {
  const store = findStore(state, storeId);
  const entry = store.files.get(id);
  if (!entry) throw new SimError(404, `No file found with id '${id}' in vector store '${storeId}'.`);
  return storeFileObject(store.id, entry);
}

export function listStoreFiles(
  state: SimState,
  storeId: string,
  query: URLSearchParams,
  only?: (f: SimStoreFile) => boolean,
) {
  const store = findStore(state, storeId);
  const filter = query.get("filter");
  if (filter && !STATUSES.has(filter)) throw invalidParam("filter", `'${filter}' is not a file status.`);
  const files = [...store.files.values()].filter(
    (f) => (!only || only(f)) && (!filter || ingestStatus(f) === filter),
  );
  return page(
    files.map((f) => storeFileObject(store.id, f)),
    query,
  );
}

export function deleteStoreFile(state: SimState, storeId: string, id: string) {
  const store = findStore(state, storeId);
  if (!store.files.delete(id))
    throw new SimError(404, `No file found with id '${id}' in vector store '${storeId}'.`);
  return { id, object: "vector_store.file.deleted", deleted: true };
}

export function createBatch(state: SimState, storeId: string, body: Record<string, unknown>) {
  const store = findStore(state, storeId);
  const entries = batchEntries(body);
  for (const e of entries) findFile(state, e.file_id, "file_ids");
  const batch = { id: hexId("vsfb"), createdAt: nowSeconds(), fileIds: entries.map((e) => e.file_id) };
  store.batches.set(batch.id, batch);
  for (const e of entries) attach(state, store, e.file_id, batch.id, e.attributes);
  return batchObject(store, batch.id);
}

function batchEntries(
  body: Record<string, unknown>,
): { file_id: string; attributes: Record<string, unknown> | null }[] {
  if (body.file_ids !== undefined && body.files !== undefined) {
    throw new SimError(400, "Provide either 'file_ids' or 'files', not both.", {
      code: "mutually_exclusive_parameters",
    });
  }
  if (Array.isArray(body.files)) {
    return body.files.map((f, i) => {
      const e = (f ?? {}) as Record<string, unknown>;
      if (typeof e.file_id !== "string") throw missingParam(`files[${i}].file_id`);
      return { file_id: e.file_id, attributes: attributes(e) };
    });
  }
  const ids = stringList(body.file_ids, "file_ids", 2000);
  if (ids.length === 0) throw missingParam("file_ids");
  return ids.map((file_id) => ({ file_id, attributes: attributes(body) }));
}

export function findBatch(state: SimState, storeId: string, batchId: string) {
  const store = findStore(state, storeId);
  const batch = store.batches.get(batchId);
  if (!batch)
    throw new SimError(404, `No file batch found with id '${batchId}' in vector store '${storeId}'.`);
  return { store, batch };
}

export function batchObject(store: SimVectorStore, batchId: string): Record<string, unknown> {
  const batch = store.batches.get(batchId);
  if (!batch) throw new SimError(404, `No file batch found with id '${batchId}'.`);
  const files = [...store.files.values()].filter((f) => f.batchId === batch.id);
  const counts = countFiles(files);
  const status = counts.in_progress > 0 ? "in_progress" : counts.cancelled > 0 ? "cancelled" : "completed";
  return {
    id: batch.id,
    object: "vector_store.files_batch",
    created_at: batch.createdAt,
    vector_store_id: store.id,
    status,
    file_counts: counts,
  };
}

export function cancelBatch(state: SimState, storeId: string, batchId: string) {
  const { store, batch } = findBatch(state, storeId, batchId);
  for (const f of store.files.values()) {
    if (f.batchId === batch.id && ingestStatus(f) === "in_progress") f.cancelled = true;
  }
  return batchObject(store, batch.id);
}

function stringList(value: unknown, param: string, max: number): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new SimError(400, `Invalid type for '${param}': expected an array of strings.`, {
      param,
      code: "invalid_type",
    });
  }
  if (value.length > max)
    throw invalidParam(param, `expected at most ${max} items.`, "array_above_max_length");
  return value as string[];
}

function attributes(body: Record<string, unknown>): Record<string, unknown> | null {
  const a = body.attributes;
  return a && typeof a === "object" && !Array.isArray(a) ? (a as Record<string, unknown>) : null;
}

function expiresAfter(value: unknown): SimVectorStore["expiresAfter"] {
  if (value === undefined || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.anchor !== "last_active_at" || typeof v.days !== "number") {
    throw invalidParam("expires_after", "expected { anchor: 'last_active_at', days: 1–365 }.");
  }
  return { anchor: "last_active_at", days: v.days };
}

/** Completed, searchable files of the given stores, in store order, for file_search. */
export function searchableFiles(state: SimState, storeIds: string[]) {
  const now = Date.now();
  const out: { id: string; filename: string; text: string }[] = [];
  for (const id of storeIds) {
    const store = state.vectorStores.get(id);
    if (!store) continue;
    store.lastActiveAt = nowSeconds();
    for (const entry of store.files.values()) {
      const file = state.files.get(entry.fileId);
      if (file && ingestStatus(entry, now) === "completed")
        out.push({ id: file.id, filename: file.filename, text: file.content.toString("utf8") });
    }
  }
  return out;
}
