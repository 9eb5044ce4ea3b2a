// The /v1 route table for Files, Vector Stores (files, file batches) and containers.
import {
  addContainerFile,
  containerFileContent,
  containerFileObject,
  containerObject,
  createFromBody,
  deleteContainer,
  findContainer,
  findContainerFile,
  listContainerFiles,
  listContainers,
} from "./containers.ts";
import { deleteFile, fileContent, fileObject, findFile, listFiles, uploadFile } from "./files.ts";
import { ID, json, type Route, route, sendBytes } from "./route-kit.ts";
import {
  addStoreFile,
  batchObject,
  cancelBatch,
  createBatch,
  createStore,
  deleteStore,
  deleteStoreFile,
  findBatch,
  findStore,
  getStoreFile,
  listStoreFiles,
  listStores,
  modifyStore,
  storeObject,
} from "./vector-stores.ts";

const p = (ctx: { params: string[] }, i: number): string => ctx.params[i] ?? "";

export const FILE_ROUTES: Route[] = [
  route("POST", "/files", async (ctx) =>
    json(ctx, fileObject(await uploadFile(ctx.state, ctx.raw, ctx.contentType))),
  ),
  route("GET", "/files", (ctx) => json(ctx, listFiles(ctx.state, ctx.query))),
  route("GET", `/files/${ID}`, (ctx) => json(ctx, fileObject(findFile(ctx.state, p(ctx, 0), "file_id")))),
  route("DELETE", `/files/${ID}`, (ctx) => json(ctx, deleteFile(ctx.state, p(ctx, 0)))),
  route("GET", `/files/${ID}/content`, (ctx) => {
    const { body, type } = fileContent(ctx.state, p(ctx, 0));
    sendBytes(ctx, body, type);
  }),

  route("POST", "/vector_stores", (ctx) => json(ctx, storeObject(createStore(ctx.state, ctx.body())))),
  route("GET", "/vector_stores", (ctx) => json(ctx, listStores(ctx.state, ctx.query))),
  route("GET", `/vector_stores/${ID}`, (ctx) => json(ctx, storeObject(findStore(ctx.state, p(ctx, 0))))),
  route("POST", `/vector_stores/${ID}`, (ctx) =>
    json(ctx, storeObject(modifyStore(ctx.state, p(ctx, 0), ctx.body()))),
  ),
  route("DELETE", `/vector_stores/${ID}`, (ctx) => json(ctx, deleteStore(ctx.state, p(ctx, 0)))),
  route("POST", `/vector_stores/${ID}/files`, (ctx) =>
    json(ctx, addStoreFile(ctx.state, p(ctx, 0), ctx.body())),
  ),
  route("GET", `/vector_stores/${ID}/files`, (ctx) =>
    json(ctx, listStoreFiles(ctx.state, p(ctx, 0), ctx.query)),
  ),
  route("GET", `/vector_stores/${ID}/files/${ID}`, (ctx) =>
    json(ctx, getStoreFile(ctx.state, p(ctx, 0), p(ctx, 1))),
  ),
  route("DELETE", `/vector_stores/${ID}/files/${ID}`, (ctx) =>
    json(ctx, deleteStoreFile(ctx.state, p(ctx, 0), p(ctx, 1))),
  ),
  route("POST", `/vector_stores/${ID}/file_batches`, (ctx) =>
    json(ctx, createBatch(ctx.state, p(ctx, 0), ctx.body())),
  ),
  route("GET", `/vector_stores/${ID}/file_batches/${ID}`, (ctx) => {
    const { store, batch } = findBatch(ctx.state, p(ctx, 0), p(ctx, 1));
    json(ctx, batchObject(store, batch.id));
  }),
  route("POST", `/vector_stores/${ID}/file_batches/${ID}/cancel`, (ctx) =>
    json(ctx, cancelBatch(ctx.state, p(ctx, 0), p(ctx, 1))),
  ),
  route("GET", `/vector_stores/${ID}/file_batches/${ID}/files`, (ctx) => {
    const { batch } = findBatch(ctx.state, p(ctx, 0), p(ctx, 1));
    json(
      ctx,
      listStoreFiles(ctx.state, p(ctx, 0), ctx.query, (f) => f.batchId === batch.id),
    );
  }),

  route("POST", "/containers", (ctx) => json(ctx, containerObject(createFromBody(ctx.state, ctx.body())))),
  route("GET", "/containers", (ctx) => json(ctx, listContainers(ctx.state, ctx.query))),
  route("GET", `/containers/${ID}`, (ctx) => json(ctx, containerObject(findContainer(ctx.state, p(ctx, 0))))),
  route("DELETE", `/containers/${ID}`, (ctx) => json(ctx, deleteContainer(ctx.state, p(ctx, 0)))),
  route("POST", `/containers/${ID}/files`, (ctx) =>
    json(ctx, addContainerFile(ctx.state, p(ctx, 0), ctx.body())),
  ),
  route("GET", `/containers/${ID}/files`, (ctx) =>
    json(ctx, listContainerFiles(ctx.state, p(ctx, 0), ctx.query)),
  ),
  route("GET", `/containers/${ID}/files/${ID}`, (ctx) => {
    const { container, file } = findContainerFile(ctx.state, p(ctx, 0), p(ctx, 1));
    json(ctx, containerFileObject(container, file));
  }),
  route("GET", `/containers/${ID}/files/${ID}/content`, (ctx) => {
    const { body, type } = containerFileContent(ctx.state, p(ctx, 0), p(ctx, 1));
    sendBytes(ctx, body, type);
  }),
];
