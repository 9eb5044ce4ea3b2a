/** Request bodies and queries of the Files and Vector Stores routes, as OpenAI's API takes them. */
import { z } from "zod";
import { Id, ListQuery, Metadata } from "../schemas";

const ChunkingStrategy = z.union([
  z.strictObject({ type: z.literal("auto") }),
  z.strictObject({
    type: z.literal("static"),
    static: z.strictObject({
      max_chunk_size_tokens: z.number().int().min(100).max(4096),
      chunk_overlap_tokens: z.number().int().min(0),
    }),
  }),
]);
const ExpiresAfter = z.strictObject({
  anchor: z.literal("last_active_at"),
  days: z.number().int().min(1).max(365),
});
const Attributes = z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean()]));

export const FileListQuery = ListQuery.extend({
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  purpose: z.string().max(64).optional(),
});

export const CreateVectorStore = z.strictObject({
  name: z.string().max(256).optional(),
  description: z.string().max(512).optional(),
  file_ids: z.array(Id).max(500).optional(),
  metadata: Metadata.nullable().optional(),
  expires_after: ExpiresAfter.optional(),
  chunking_strategy: ChunkingStrategy.optional(),
});

export const ModifyVectorStore = z.strictObject({
  name: z.string().max(256).nullable().optional(),
  metadata: Metadata.nullable().optional(),
  expires_after: ExpiresAfter.nullable().optional(),
});

export const CreateStoreFile = z.strictObject({
  file_id: Id,
  attributes: Attributes.optional(),
  chunking_strategy: ChunkingStrategy.optional(),
});

export const CreateFileBatch = z.strictObject({
  file_ids: z.array(Id).min(1).max(2000).optional(),
  files: z.array(CreateStoreFile).min(1).max(2000).optional(),
  attributes: Attributes.optional(),
  chunking_strategy: ChunkingStrategy.optional(),
});

export const StoreFilesQuery = ListQuery.extend({
  filter: z.enum(["in_progress", "completed", "failed", "cancelled"]).optional(),
});

export const DownloadQuery = z.object({
  tenant: z.string().min(1).max(64),
  expires: z.coerce.number().int().min(0),
  signature: z.string().min(1).max(128),
});
