/** `/v1/vector_stores`, their files and file batches, per tenant (OpenAI's Vector Stores API shapes). */
import type { Context } from "hono";
import { Hono } from "hono";
import {
  addStoreFile,
  cancelBatch,
  createBatch,
  createStore,
  deleteStore,
  deleteStoreFile,
  getStore,
  listStores,
  modifyStore,
  presentStore,
  readStore,
} from "../../commands/vector-stores";
import { type AuthedEnv, requireKey } from "../../security/auth";
import { ListQuery } from "../schemas";
import { parseBody, parseQuery } from "../validate";
import {
  CreateFileBatch,
  CreateStoreFile,
  CreateVectorStore,
  ModifyVectorStore,
  StoreFilesQuery,
} from "./schemas";

/** The SDK's pollers (`createAndPoll`, `uploadAndPoll`) wait this long between retrieves (default 5 s). */
const POLL_AFTER = { "openai-poll-after-ms": "500" };

type C = Context<AuthedEnv>;
const store = (c: C) => c.req.param("id") ?? "";

export const vectorStores = new Hono<AuthedEnv>()
  .use("*", requireKey)
  .post("/", async (c) =>
    c.json(presentStore(await createStore(c.var.deps, c.var.tenant, await parseBody(c, CreateVectorStore)))),
  )
  .get("/", async (c) => c.json(await listStores(c.var.deps, c.var.tenant, parseQuery(c, ListQuery))))
  .get("/:id", async (c) =>
    c.json(presentStore(await getStore(c.var.deps, c.var.tenant, store(c))), 200, POLL_AFTER),
  )
  .post("/:id", async (c) => {
    const body = await parseBody(c, ModifyVectorStore);
    return c.json(presentStore(await modifyStore(c.var.deps, c.var.tenant, store(c), body)));
  })
  .delete("/:id", async (c) => c.json(await deleteStore(c.var.deps, c.var.tenant, store(c))))
  .post("/:id/files", async (c) => {
    const body = await parseBody(c, CreateStoreFile);
    return c.json(await addStoreFile(c.var.deps, c.var.tenant, store(c), body));
  })
  .get("/:id/files", async (c) =>
    c.json(await readStore(c.var.deps, c.var.tenant, store(c), {}, parseQuery(c, StoreFilesQuery))),
  )
  .get("/:id/files/:file", async (c) =>
    c.json(
      await readStore(c.var.deps, c.var.tenant, store(c), { file: c.req.param("file") }),
      200,
      POLL_AFTER,
    ),
  )
  .delete("/:id/files/:file", async (c) =>
    c.json(await deleteStoreFile(c.var.deps, c.var.tenant, store(c), c.req.param("file"))),
  )
  .post("/:id/file_batches", async (c) => {
    const body = await parseBody(c, CreateFileBatch);
    return c.json(await createBatch(c.var.deps, c.var.tenant, store(c), body));
  })
  .get("/:id/file_batches/:batch", async (c) =>
    c.json(
      await readStore(c.var.deps, c.var.tenant, store(c), { batch: c.req.param("batch") }),
      200,
      POLL_AFTER,
    ),
  )
  .post("/:id/file_batches/:batch/cancel", async (c) =>
    c.json(await cancelBatch(c.var.deps, c.var.tenant, store(c), c.req.param("batch"))),
  )
  .get("/:id/file_batches/:batch/files", async (c) =>
    c.json(
      await readStore(
        c.var.deps,
        c.var.tenant,
        store(c),
        { batch: c.req.param("batch"), files: true },
        parseQuery(c, StoreFilesQuery),
      ),
    ),
  );
