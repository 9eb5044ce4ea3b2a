/**
 * `/v1/files`: upload (multipart, streamed through to OpenAI), list, retrieve, delete, content —
 * each file the uploading tenant's alone.
 */
import { Hono } from "hono";
import {
  deleteFile,
  downloadByLink,
  fileContent,
  getFile,
  listFiles,
  presentFile,
  uploadFile,
} from "../../commands/files";
import { type AuthedEnv, requireKey } from "../../security/auth";
import { parseQuery } from "../validate";
import { DownloadQuery, FileListQuery } from "./schemas";

/** `GET /v1/files/{id}/download?tenant&expires&signature`: a callback's signed link, no API key. */
export const downloads = new Hono<AuthedEnv>().get("/:id/download", async (c) => {
  const q = parseQuery(c, DownloadQuery);
  return downloadByLink(c.var.deps, { fileId: c.req.param("id"), ...q });
});

export const files = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .post("/", async (c) => {
    const length = c.req.header("content-length");
    const file = await uploadFile(c.var.deps, c.var.tenant, {
      body: c.req.raw.body,
      contentType: c.req.header("content-type") ?? "",
      contentLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
    });
    return c.json(presentFile(file));
  })
  .get("/", async (c) => c.json(await listFiles(c.var.deps, c.var.tenant, parseQuery(c, FileListQuery))))
  .get("/:id", async (c) => c.json(presentFile(await getFile(c.var.deps, c.var.tenant, c.req.param("id")))))
  .delete("/:id", async (c) => c.json(await deleteFile(c.var.deps, c.var.tenant, c.req.param("id"))))
  .get("/:id/content", async (c) => fileContent(c.var.deps, c.var.tenant, c.req.param("id")));
