/**
 * OpenAI's Files, Vector Stores and container files, behind a narrow interface (part of the
 * upstream adapter: only upstream/ imports `openai`). Objects come back as OpenAI sends them;
 * vendor errors become `UpstreamError` here. Uploads are streamed: the caller's multipart body goes
 * to OpenAI as it arrives, never held whole in the Worker's memory.
 */
import OpenAI from "openai";
import { toUpstreamError, translate } from "./openai";

/** OpenAI's `file` object (the fields threadhook reads). */
export interface UpstreamFile {
  id: string;
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  expires_at?: number | null;
}

export type UpstreamObject = Record<string, unknown> & { id: string };
export type UpstreamList = {
  object: "list";
  data: UpstreamObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
};
export type ListQuery = Record<string, string | number | undefined>;

/** A file a code interpreter container holds. */
export interface ContainerFile {
  id: string;
  bytes: number;
  path: string;
  source: string;
}

export interface FilesUpstream {
  /** Pass a multipart/form-data body through to `POST /files`; `length` when the caller sent one. */
  uploadStream(
    body: ReadableStream<Uint8Array>,
    contentType: string,
    length: number | null,
  ): Promise<UpstreamFile>;
  upload(
    bytes: Uint8Array<ArrayBuffer>,
    filename: string,
    purpose: string,
    type: string,
  ): Promise<UpstreamFile>;
  deleteFile(id: string): Promise<void>;
  /** The file's bytes as OpenAI serves them (a streaming Response). */
  fileContent(id: string): Promise<Response>;
  createStore(body: Record<string, unknown>): Promise<UpstreamObject>;
  retrieveStore(id: string): Promise<UpstreamObject>;
  modifyStore(id: string, body: Record<string, unknown>): Promise<UpstreamObject>;
  deleteStore(id: string): Promise<void>;
  /** Any other vector store call, by path under `/vector_stores/{id}` (files, file batches). */
  storeCall(
    method: "GET" | "POST" | "DELETE",
    storeId: string,
    path: string,
    body?: Record<string, unknown>,
    query?: ListQuery,
  ): Promise<UpstreamObject | UpstreamList>;
  listContainerFiles(containerId: string): Promise<ContainerFile[]>;
  containerFileContent(containerId: string, fileId: string): Promise<Response>;
}

export function createFilesUpstream(cfg: { apiKey: string; baseURL: string }): FilesUpstream {
  const client = new OpenAI({ apiKey: cfg.apiKey, baseURL: cfg.baseURL, maxRetries: 0, timeout: 60_000 });
  const beta = { headers: { "OpenAI-Beta": "assistants=v2" } };
  const path = (storeId: string, rest: string) => `/vector_stores/${encodeURIComponent(storeId)}${rest}`;
  return {
    uploadStream: (body, contentType, length) =>
      translate(() => streamUpload(cfg, body, contentType, length)),
    upload: (bytes, filename, purpose, type) =>
      translate(async () => {
        const file = new File([bytes], filename, { type });
        return (await client.files.create({ file, purpose: purpose as "assistants" })) as UpstreamFile;
      }),
    deleteFile: (id) =>
      translate(async () => {
        await client.files.delete(id);
      }),
    fileContent: (id) => translate(() => client.files.content(id)),
    createStore: (body) =>
      translate(async () => asObject(await client.post("/vector_stores", { body, ...beta }))),
    retrieveStore: (id) => translate(async () => asObject(await client.get(path(id, ""), beta))),
    modifyStore: (id, body) =>
      translate(async () => asObject(await client.post(path(id, ""), { body, ...beta }))),
    deleteStore: (id) =>
      translate(async () => {
        await client.delete(path(id, ""), beta);
      }),
    storeCall: (method, storeId, rest, body, query) =>
      translate(async () => {
        const opts = { ...beta, ...(body ? { body } : {}), ...(query ? { query } : {}) };
        const p = path(storeId, rest);
        const result =
          method === "GET"
            ? client.get(p, opts)
            : method === "POST"
              ? client.post(p, opts)
              : client.delete(p, opts);
        return (await result) as UpstreamObject | UpstreamList;
      }),
    listContainerFiles: (containerId) =>
      translate(async () => {
        const files: ContainerFile[] = [];
        for await (const f of client.containers.files.list(containerId, { limit: 100, order: "asc" }))
          files.push({ id: f.id, bytes: f.bytes ?? 0, path: f.path, source: f.source });
        return files;
      }),
    containerFileContent: (containerId, fileId) =>
      translate(() => client.containers.files.content.retrieve(fileId, { container_id: containerId })),
  };
}

const asObject = (v: unknown) => v as UpstreamObject;

/**
 * `POST {baseURL}/files` with the caller's multipart body as it arrives. With a known length the
 * body goes out with that Content-Length (workerd's FixedLengthStream pipes it natively, no copy in
 * JavaScript); without one it goes out chunked.
 */
async function streamUpload(
  cfg: { apiKey: string; baseURL: string },
  body: ReadableStream<Uint8Array>,
  contentType: string,
  length: number | null,
): Promise<UpstreamFile> {
  let outgoing: ReadableStream<Uint8Array> = body;
  const Fixed = (globalThis as { FixedLengthStream?: new (n: number) => TransformStream }).FixedLengthStream;
  if (length !== null && Fixed) {
    const fixed = new Fixed(length);
    body.pipeTo(fixed.writable).catch(() => {});
    outgoing = fixed.readable;
  }
  let res: Response;
  try {
    res = await fetch(`${cfg.baseURL}/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${cfg.apiKey}`, "content-type": contentType },
      body: outgoing,
      // Node's fetch needs this for a streamed body; workerd ignores it.
      duplex: "half",
    } as RequestInit);
  } catch (err) {
    throw new OpenAI.APIConnectionError({ message: "file upload failed", cause: err as Error });
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  if (!res.ok) {
    const error = (json as { error?: object } | null)?.error;
    throw toUpstreamError(OpenAI.APIError.generate(res.status, error, undefined, res.headers));
  }
  return json as UpstreamFile;
}
