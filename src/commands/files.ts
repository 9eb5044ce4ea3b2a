/**
 * Files per tenant: upload (streamed through to OpenAI's Files API), list, retrieve, delete,
 * download. Every file id a tenant sends anywhere is checked here first: only the tenant's own
 * record makes an id usable, and another tenant's id is a 404 exactly like an unknown one.
 */
import type { Config } from "../config";
import { ApiError, notFound } from "../errors";
import { errorFields, log } from "../log";
import type { FileRecord, FileStore } from "../store/files";
import type { ListPage, ListParams } from "../store/list";
import type { FilesUpstream, UpstreamFile } from "../upstream/files";
import { checkFileLink } from "../delivery/file-links";
import { fromUpstream, upstreamCall } from "./upstream-errors";

export type { FileRecord };

export interface FileDeps {
  files: Pick<FileStore, "get" | "put" | "delete" | "list" | "many">;
  openaiFiles: Pick<FilesUpstream, "uploadStream" | "upload" | "deleteFile" | "fileContent">;
  config: { files: Config["files"] };
  now: () => number;
}

/** What an upload may be for here: the Assistants tools, images, anything else a model may read. */
const PURPOSES = new Set(["assistants", "vision", "user_data"]);
/** File types the Assistants tools (file_search, code interpreter) read, and images. */
const ASSISTANTS_TYPES = new Set(
  "c cpp cs css csv doc docx gif go html java jpeg jpg js json md pdf php pkl png pptx py rb sh tar tex ts txt webp xlsx xml zip".split(
    " ",
  ),
);
const IMAGE_TYPES = new Set(["png", "jpg", "jpeg", "gif", "webp"]);
const MIME: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  csv: "text/csv",
  txt: "text/plain",
  md: "text/markdown",
  json: "application/json",
  pdf: "application/pdf",
  html: "text/html",
  xml: "application/xml",
  zip: "application/zip",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};
/** Room for the multipart framing (boundaries, part headers, the purpose field) around the file. */
const MULTIPART_SLACK_BYTES = 16 * 1024;

export const extensionOf = (name: string) => {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
};
export const mimeOf = (name: string) => MIME[extensionOf(name)] ?? "application/octet-stream";
export const isImage = (name: string) => IMAGE_TYPES.has(extensionOf(name));
/** A file type the Assistants tools (file_search, code interpreter) read. */
export const isAssistantsFile = (name: string) => ASSISTANTS_TYPES.has(extensionOf(name));

export const fileNotFound = (id: string, param = "file_id") => notFound("file", id, param);

const tooLarge = (limit: number) =>
  new ApiError(413, "file_too_large", `Files are limited to ${limit} bytes (MAX_UPLOAD_BYTES).`, {
    param: "file",
  });

/** What the API shows of a file: OpenAI's `file` object. */
export function presentFile(f: FileRecord) {
  const { mime_type: _type, run_id: _run, ...shown } = f;
  return shown;
}

export interface UploadRequest {
  body: ReadableStream<Uint8Array> | null;
  contentType: string;
  /** The request's Content-Length, when it had one. */
  contentLength: number | null;
}

/**
 * `POST /v1/files`: the multipart body goes to OpenAI as it arrives (never held whole here). What
 * OpenAI made of it is checked after: an unsupported purpose or type is deleted again and refused.
 */
export async function uploadFile(deps: FileDeps, tenant: string, req: UploadRequest): Promise<FileRecord> {
  if (!/^multipart\/form-data\s*;\s*boundary=/i.test(req.contentType))
    throw new ApiError(
      400,
      "unsupported_content_type",
      "Upload a file as multipart/form-data with the fields 'file' and 'purpose'.",
    );
  const limit = deps.config.files.maxUploadBytes;
  if (req.contentLength !== null && req.contentLength > limit + MULTIPART_SLACK_BYTES) throw tooLarge(limit);
  if (!req.body || req.contentLength === 0)
    throw new ApiError(400, "missing_required_parameter", "Missing required parameter: 'file'.", {
      param: "file",
    });
  const capped = req.contentLength === null ? capStream(req.body, limit + MULTIPART_SLACK_BYTES) : null;
  let uploaded: UpstreamFile;
  try {
    uploaded = await deps.openaiFiles.uploadStream(
      capped?.stream ?? req.body,
      req.contentType,
      req.contentLength,
    );
  } catch (err) {
    if (capped?.over()) throw tooLarge(limit);
    fromUpstream(err, () => new ApiError(400, "upload_refused", "OpenAI refused the upload."));
  }
  const refusal = checkUpload(uploaded, limit);
  if (refusal) {
    await deps.openaiFiles
      .deleteFile(uploaded.id)
      .catch((err: unknown) =>
        log("warn", "could not delete a refused upload", { file_id: uploaded.id, ...errorFields(err) }),
      );
    throw refusal;
  }
  return registerFile(deps, tenant, uploaded, { runId: null, purpose: uploaded.purpose });
}

function checkUpload(f: UpstreamFile, limit: number): ApiError | null {
  if (f.bytes > limit) return tooLarge(limit);
  if (!PURPOSES.has(f.purpose))
    return new ApiError(
      400,
      "unsupported_purpose",
      `Purpose '${f.purpose}' is not served here; use 'assistants', 'vision' or 'user_data'.`,
      { param: "purpose" },
    );
  const ext = extensionOf(f.filename);
  const ok =
    f.purpose === "vision" ? IMAGE_TYPES.has(ext) : f.purpose !== "assistants" || ASSISTANTS_TYPES.has(ext);
  if (!ok)
    return new ApiError(
      400,
      "unsupported_file_type",
      `Files of type '.${ext || "(none)"}' cannot be used for purpose '${f.purpose}'.`,
      { param: "file" },
    );
  return null;
}

/** Make an upstream file the tenant's: its record, shown with `purpose` (generated: `assistants_output`). */
export async function registerFile(
  deps: { files: Pick<FileStore, "put">; now: () => number },
  tenant: string,
  f: UpstreamFile,
  opts: { runId: string | null; purpose: string },
): Promise<FileRecord> {
  const record: FileRecord = {
    id: f.id,
    object: "file",
    bytes: f.bytes,
    created_at: f.created_at,
    filename: f.filename,
    purpose: opts.purpose,
    status: "processed",
    status_details: null,
    expires_at: f.expires_at ?? null,
    mime_type: mimeOf(f.filename),
    run_id: opts.runId,
  };
  await deps.files.put(tenant, record, deps.now());
  return record;
}

/** The body, erroring once more than `max` bytes went through (for uploads without a length). */
function capStream(body: ReadableStream<Uint8Array>, max: number) {
  let seen = 0;
  let over = false;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > max) {
          over = true;
          controller.error(new Error("upload too large"));
        } else controller.enqueue(chunk);
      },
    }),
  );
  return { stream, over: () => over };
}

export async function getFile(deps: Pick<FileDeps, "files">, tenant: string, id: string, param = "file_id") {
  const found = await deps.files.get(tenant, id);
  if (!found) throw fileNotFound(id, param);
  return found;
}

/** Every id must be one of the tenant's files: the first that is not answers 404 (`param` names it). */
export async function requireFiles(
  deps: { files: Pick<FileStore, "many"> },
  tenant: string,
  ids: readonly string[],
  param: (index: number) => string,
): Promise<FileRecord[]> {
  const unique = [...new Set(ids)];
  const found = await deps.files.many(tenant, unique);
  const have = new Set(found.map((f) => f.id));
  const missing = ids.findIndex((id) => !have.has(id));
  if (missing >= 0) throw fileNotFound(ids[missing] as string, param(missing));
  return found;
}

export async function listFiles(
  deps: Pick<FileDeps, "files">,
  tenant: string,
  params: ListParams & { purpose?: string | undefined },
): Promise<ListPage<ReturnType<typeof presentFile>>> {
  const page = await deps.files.list(tenant, params);
  const data = page.data.filter((f) => !params.purpose || f.purpose === params.purpose).map(presentFile);
  return { ...page, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** Delete a file (OpenAI removes it from every vector store too). */
export async function deleteFile(deps: FileDeps, tenant: string, id: string) {
  await getFile(deps, tenant, id);
  await upstreamCall(
    () =>
      deps.openaiFiles.deleteFile(id).catch((err: unknown) => {
        if ((err as { status?: unknown }).status !== 404) throw err; // already gone upstream
      }),
    () => fileNotFound(id),
  );
  await deps.files.delete(tenant, id);
  return { id, object: "file" as const, deleted: true };
}

/** The file's bytes, streamed from OpenAI as they come (never buffered here). */
export async function fileContent(deps: FileDeps, tenant: string, id: string): Promise<Response> {
  const file = await getFile(deps, tenant, id);
  const upstream = await upstreamCall(
    () => deps.openaiFiles.fileContent(id),
    () => fileNotFound(id),
  );
  const headers = new Headers({
    "content-type": file.mime_type,
    "content-disposition": `attachment; filename="${file.filename.replace(/["\\\r\n]/g, "_")}"`,
  });
  const length = upstream.headers.get("content-length");
  if (length) headers.set("content-length", length);
  return new Response(upstream.body, { status: 200, headers });
}

/**
 * A signed download link (a callback's `download_url`): no API key, the signature and expiry are
 * the credential. Expired → 403 `download_link_expired`; not signed by the tenant → 403
 * `invalid_signature`, the same for an unknown tenant or file.
 */
export async function downloadByLink(
  deps: FileDeps & { webhookSecrets: (tenant: string) => Promise<string[]> },
  link: { fileId: string; tenant: string; expires: number; signature: string },
): Promise<Response> {
  const verdict = await checkFileLink({
    ...link,
    secrets: await deps.webhookSecrets(link.tenant),
    nowMs: deps.now(),
  });
  if (verdict === "expired")
    throw new ApiError(
      403,
      "download_link_expired",
      "This download link has expired; ask for the run again.",
    );
  if (verdict === "invalid" || !(await deps.files.get(link.tenant, link.fileId)))
    throw new ApiError(403, "invalid_signature", "This download link is not valid.");
  return fileContent(deps, link.tenant, link.fileId);
}
