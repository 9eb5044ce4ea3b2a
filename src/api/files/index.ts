/**
 * Files and vector stores (mounted at /v1), for both front doors: the Assistants SDK's
 * `openai.files` / `openai.vectorStores` and the webhook API's attachments use the same records;
 * and the Assistants v1 form `/v1/assistants/{id}/files`.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../deps";
import { assistantFiles } from "./assistant-files";
import { downloads, files } from "./files";
import { vectorStores } from "./vector-stores";

// Signed download links first: they need no API key (the files group requires one).
export const filesApi = new Hono<AppEnv>()
  .route("/files", downloads)
  .route("/files", files)
  .route("/vector_stores", vectorStores)
  .route("/assistants", assistantFiles);
