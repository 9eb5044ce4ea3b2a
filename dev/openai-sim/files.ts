// /v1/files: multipart upload, list, retrieve, delete (also from every vector store), content.
import { type SimFile, fileId, mimeOf } from "./files-state.ts";
import { invalidParam, missingParam, notFound, nowSeconds, SimError } from "./http.ts";
import type { SimState } from "./state.ts";

/** What upstream accepts as `purpose` on upload. */
const PURPOSES = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]);
/** Upstream refuses to hand out the content of these (uploads for the Assistants tools). */
const NOT_DOWNLOADABLE = new Set(["assistants"]);

export const fileObject = (f: SimFile): Record<string, unknown> => ({
  id: f.id,
  object: "file",
  bytes: f.content.length,
  created_at: f.createdAt,
  expires_at: f.expiresAt,
  filename: f.filename,
  purpose: f.purpose,
  status: "processed",
  status_details: null,
});

export function findFile(state: SimState, id: string, param: string | null = null): SimFile {
  const file = state.files.get(id);
  if (!file) throw new SimError(404, `No such File object: ${id}`, { param, code: null });
  return file;
}

/** `POST /v1/files` (multipart/form-data: `file`, `purpose`, optional `expires_after[...]`). */
export async function uploadFile(state: SimState, raw: Buffer, contentType: string): Promise<SimFile> {
  if (!/^multipart\/form-data/i.test(contentType)) {
    throw new SimError(400, "Invalid Content-Type header (expected multipart/form-data).", {
      param: null,
    });
  }
  let form: FormData;
  try {
    form = await new Request("http://sim/", {
      method: "POST",
      headers: { "content-type": contentType },
      body: new Uint8Array(raw),
    }).formData();
  } catch {
    throw new SimError(400, "The multipart body could not be parsed.");
  }
  const file = form.get("file");
  if (!file || typeof file === "string") throw missingParam("file");
  const purpose = form.get("purpose");
  if (typeof purpose !== "string" || purpose === "") throw missingParam("purpose");
  if (!PURPOSES.has(purpose)) {
    throw invalidParam(
      "purpose",
      `'${purpose}' is not one of ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'].`,
    );
  }
  const created: SimFile = {
    id: fileId(),
    createdAt: nowSeconds(),
    filename: file.name || "upload",
    purpose,
    content: Buffer.from(await file.arrayBuffer()),
    expiresAt: expiresAt(form),
  };
  state.files.set(created.id, created);
  state.stats.filesUploaded++;
  return created;
}

function expiresAt(form: FormData): number | null {
  const seconds = Number(form.get("expires_after[seconds]") ?? Number.NaN);
  return Number.isFinite(seconds) && seconds > 0 ? nowSeconds() + seconds : null;
}

/** A file made by the simulator itself (container output copied out, tests). */
export function addFile(state: SimState, filename: string, purpose: string, content: Buffer): SimFile {
  const created: SimFile = {
    id: fileId(),
    createdAt: nowSeconds(),
    filename,
    purpose,
    content,
    expiresAt: null,
  };
  state.files.set(created.id, created);
  return created;
}

/** `GET /v1/files`: `purpose`, `limit` (1–10 000, default 10 000), `order` (desc), `after`. */
export function listFiles(state: SimState, query: URLSearchParams): Record<string, unknown> {
  const purpose = query.get("purpose");
  const files = [...state.files.values()].filter((f) => !purpose || f.purpose === purpose);
  return page(files.map(fileObject), query, 10_000);
}

/** Deleting a file removes it from every vector store too (upstream's documented behaviour). */
export function deleteFile(state: SimState, id: string): Record<string, unknown> {
  findFile(state, id);
  state.files.delete(id);
  for (const store of state.vectorStores.values()) store.files.delete(id);
  return { id, object: "file", deleted: true };
}

export function fileContent(state: SimState, id: string): { body: Buffer; type: string } {
  const file = findFile(state, id);
  if (NOT_DOWNLOADABLE.has(file.purpose)) {
    throw new SimError(400, `Not allowed to download files of purpose: ${file.purpose}`, { param: null });
  }
  return { body: file.content, type: mimeOf(file.filename) };
}

/** Cursor pagination over objects in creation order (`limit`, `order` default desc, `after`, `before`). */
export function page(
  objects: Record<string, unknown>[],
  query: URLSearchParams,
  maxLimit = 100,
  defaultLimit = 20,
): Record<string, unknown> {
  const limit = Number(query.get("limit") ?? Math.min(defaultLimit, maxLimit));
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    throw invalidParam(
      "limit",
      `expected an integer between 1 and ${maxLimit}, but got ${query.get("limit")}.`,
    );
  }
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw invalidParam("order", `expected 'asc' or 'desc'.`);
  const ordered = order === "asc" ? objects : [...objects].reverse();
  let start = 0;
  let end = ordered.length;
  const after = query.get("after");
  const before = query.get("before");
  if (after) {
    const i = ordered.findIndex((o) => o.id === after);
    if (i < 0) throw notFound("Object", after, "after");
    start = i + 1;
  }
  if (before) {
    const i = ordered.findIndex((o) => o.id === before);
    if (i < 0) throw notFound("Object", before, "before");
    end = i;
    start = Math.max(start, end - limit);
  }
  const data = ordered.slice(start, Math.min(end, start + limit));
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + data.length < end,
  };
}
