// Records of the simulator's Files, Vector Stores and containers (README "Files, vector stores, containers").
import { randomBytes } from "node:crypto";

export type SimFile = {
  id: string;
  createdAt: number;
  filename: string;
  purpose: string;
  content: Buffer;
  expiresAt: number | null;
};

export type IngestStatus = "in_progress" | "completed" | "failed" | "cancelled";

/** A file in a vector store: its status follows from `readyAtMs` (no timers needed). */
export type SimStoreFile = {
  fileId: string;
  createdAt: number;
  readyAtMs: number;
  /** The error the ingestion ends with (`unsupported_file`, scripted failures), or null. */
  failure: { code: string; message: string } | null;
  cancelled: boolean;
  batchId: string | null;
  attributes: Record<string, unknown> | null;
};

export type SimBatch = { id: string; createdAt: number; fileIds: string[] };

export type SimVectorStore = {
  id: string;
  createdAt: number;
  name: string;
  description: string | null;
  metadata: Record<string, string>;
  expiresAfter: { anchor: string; days: number } | null;
  files: Map<string, SimStoreFile>;
  batches: Map<string, SimBatch>;
  lastActiveAt: number;
};

export type SimContainerFile = {
  id: string;
  createdAt: number;
  path: string;
  source: "user" | "assistant";
  content: Buffer;
};

export type SimContainer = {
  id: string;
  createdAt: number;
  name: string;
  files: Map<string, SimContainerFile>;
  lastActiveAt: number;
};

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Upstream-like ids: `file-` + 22 base62 characters; `vs_`, `vsfb_`, `cntr_`, `cfile_` + hex. */
export function fileId(): string {
  return `file-${Array.from(randomBytes(22), (b) => BASE62[b % 62]).join("")}`;
}
export const hexId = (prefix: string, bytes = 16): string =>
  `${prefix}_${randomBytes(bytes).toString("hex")}`;

/** The status of a store's file at `now`. */
export function ingestStatus(f: SimStoreFile, now: number = Date.now()): IngestStatus {
  if (f.cancelled) return "cancelled";
  if (now < f.readyAtMs) return "in_progress";
  return f.failure ? "failed" : "completed";
}

export type FileCounts = {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
};

export function countFiles(files: Iterable<SimStoreFile>, now: number = Date.now()): FileCounts {
  const counts: FileCounts = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
  for (const f of files) {
    counts[ingestStatus(f, now)]++;
    counts.total++;
  }
  return counts;
}

/** Extensions file_search can ingest (others end `failed` with `unsupported_file`, as upstream). */
export const SEARCHABLE = new Set([
  "c",
  "cpp",
  "cs",
  "css",
  "doc",
  "docx",
  "go",
  "html",
  "java",
  "js",
  "json",
  "md",
  "pdf",
  "php",
  "pptx",
  "py",
  "rb",
  "sh",
  "tex",
  "ts",
  "txt",
]);

export const extensionOf = (name: string): string => {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
};

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
};
export const mimeOf = (name: string): string => MIME[extensionOf(name)] ?? "application/octet-stream";
