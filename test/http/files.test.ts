/**
 * Files and vector stores through the official SDK's `files` and `vectorStores` clients, answered
 * in process (the SDK's fetch goes to createApp().request) against the OpenAI simulator: uploads,
 * limits, purposes and types, ownership per tenant.
 */
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcess, startInProcess } from "../support/in-process";
import { registerSecrets } from "../support/log-capture/registry.ts";

const LIMIT = 64 * 1024;
let app: InProcess;
let mine: OpenAI;
let theirs: OpenAI;

/** An SDK client whose requests the app answers in this process. */
const sdk = (key: string) =>
  new OpenAI({
    baseURL: "http://threadhook.test/v1",
    apiKey: key,
    maxRetries: 0,
    fetch: (url, init) => app.fetch(String(url).replace("http://threadhook.test", ""), init ?? {}),
  });

beforeAll(async () => {
  app = await startInProcess({ vars: { MAX_UPLOAD_BYTES: String(LIMIT) } });
  mine = sdk(app.env.API_KEY as string);
  const tenant = await app.admin("POST", "/v1/admin/tenants", { name: "other" });
  const key = await app.admin("POST", `/v1/admin/tenants/${tenant.body.id}/keys`, { role: "admin" });
  registerSecrets({ other: key.body.key, otherSecret: tenant.body.webhook_secret });
  theirs = sdk(key.body.key);
});
afterAll(async () => app?.close());

const file = (name: string, text: string) => toFile(Buffer.from(text), name);
const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  const e = err as InstanceType<typeof OpenAI.APIError>;
  return { status: e.status, code: e.code, param: e.param };
};
const simFiles = async () =>
  ((await (await fetch(`${app.stack.openai.url}/__sim/stats`)).json()) as any).files;

describe("files", () => {
  it("uploads, retrieves, lists, downloads and deletes a tenant's file", async () => {
    const f = await mine.files.create({ file: await file("data.txt", "a,b\n1,2\n"), purpose: "user_data" });
    expect(f).toMatchObject({ object: "file", bytes: 8, filename: "data.txt", purpose: "user_data" });
    expect(f.id).toMatch(/^file-/);
    expect(await mine.files.retrieve(f.id)).toEqual(f);
    expect((await mine.files.list()).data.map((x) => x.id)).toContain(f.id);
    expect((await mine.files.list({ purpose: "assistants" })).data.map((x) => x.id)).not.toContain(f.id);
    const content = await mine.files.content(f.id);
    expect(content.headers.get("content-type")).toBe("text/plain");
    expect(await content.text()).toBe("a,b\n1,2\n");
    expect(await mine.files.delete(f.id)).toEqual({ id: f.id, object: "file", deleted: true });
    expect(await refusal(mine.files.retrieve(f.id))).toEqual({
      status: 404,
      code: "file_not_found",
      param: "file_id",
    });
  });

  it("refuses what does not fit: size, content type, purpose, file type — and keeps nothing upstream", async () => {
    const before = await simFiles();
    expect(
      await refusal(
        mine.files.create({ file: await file("big.txt", "x".repeat(LIMIT + 20_000)), purpose: "assistants" }),
      ),
    ).toEqual({
      status: 413,
      code: "file_too_large",
      param: "file",
    });
    // With a Content-Length the limit is checked before anything is read.
    const res = await app.fetch("/v1/files", {
      method: "POST",
      headers: {
        authorization: `Bearer ${app.env.API_KEY}`,
        "content-type": "multipart/form-data; boundary=x",
        "content-length": String(LIMIT * 4),
      },
      body: "x".repeat(LIMIT * 4),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.message).toContain(String(LIMIT));
    const json = await app.api("POST", "/v1/files", { purpose: "assistants" });
    expect({ status: json.status, code: json.body.error.code }).toEqual({
      status: 400,
      code: "unsupported_content_type",
    });
    expect(await refusal(mine.files.create({ file: await file("x.jsonl", "{}"), purpose: "batch" }))).toEqual(
      {
        status: 400,
        code: "unsupported_purpose",
        param: "purpose",
      },
    );
    expect(
      await refusal(mine.files.create({ file: await file("x.exe", "MZ"), purpose: "assistants" })),
    ).toEqual({
      status: 400,
      code: "unsupported_file_type",
      param: "file",
    });
    expect(await simFiles()).toBe(before);
  });

  it("shows, lists and serves a file to its tenant only: another tenant's id is unknown to them", async () => {
    const f = await mine.files.create({ file: await file("mine.txt", "private"), purpose: "user_data" });
    const notFound = { status: 404, code: "file_not_found", param: "file_id" };
    expect(await refusal(theirs.files.retrieve(f.id))).toEqual(notFound);
    expect(await refusal(theirs.files.content(f.id))).toEqual(notFound);
    expect(await refusal(theirs.files.delete(f.id))).toEqual(notFound);
    expect((await theirs.files.list()).data.map((x) => x.id)).not.toContain(f.id);
    expect(await refusal(theirs.files.retrieve("file-doesnotexist"))).toEqual({
      ...notFound,
    });
    expect(await (await mine.files.content(f.id)).text()).toBe("private");
  });
});

describe("vector stores", () => {
  it("uploadAndPoll fills a store; files, batches and the store are read back", async () => {
    const store = await mine.vectorStores.create({ name: "kb", metadata: { team: "a" } });
    expect(store).toMatchObject({ object: "vector_store", name: "kb", metadata: { team: "a" } });
    const batch = await mine.vectorStores.fileBatches.uploadAndPoll(
      store.id,
      { files: [await file("a.txt", "zebras"), await file("b.md", "lions")] },
      { pollIntervalMs: 20 },
    );
    expect(batch).toMatchObject({ status: "completed", file_counts: { completed: 2, total: 2 } });
    const files = await mine.vectorStores.files.list(store.id);
    expect(files.data).toHaveLength(2);
    const one = await mine.vectorStores.files.retrieve(files.data[0]?.id as string, {
      vector_store_id: store.id,
    });
    expect(one.status).toBe("completed");
    const batchFiles = await mine.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: store.id });
    expect(batchFiles.data).toHaveLength(2);
    expect((await mine.vectorStores.retrieve(store.id)).file_counts.completed).toBe(2);
    expect((await mine.vectorStores.list()).data.map((s) => s.id)).toContain(store.id);
    const renamed = await mine.vectorStores.update(store.id, { name: "kb2" });
    expect(renamed.name).toBe("kb2");
    expect(await mine.vectorStores.files.delete(one.id, { vector_store_id: store.id })).toMatchObject({
      deleted: true,
    });
    expect(await mine.vectorStores.delete(store.id)).toMatchObject({ id: store.id, deleted: true });
    expect(await refusal(mine.vectorStores.retrieve(store.id))).toEqual({
      status: 404,
      code: "vector_store_not_found",
      param: "vector_store_id",
    });
  });

  it("deleting a file takes it out of its stores (as OpenAI does); the vector_stores helper makes a store", async () => {
    const f = await mine.files.create({ file: await file("gone.txt", "soon gone"), purpose: "assistants" });
    const store = await mine.vectorStores.create({ file_ids: [f.id] });
    expect((await mine.vectorStores.files.list(store.id)).data.map((x) => x.id)).toEqual([f.id]);
    await mine.files.delete(f.id);
    expect((await mine.vectorStores.files.list(store.id)).data).toEqual([]);

    const doc = await mine.files.create({ file: await file("doc.txt", "text"), purpose: "assistants" });
    const assistant = await mine.beta.assistants.create({
      model: "gpt-sim",
      tools: [{ type: "file_search" }],
      tool_resources: { file_search: { vector_stores: [{ file_ids: [doc.id], metadata: { k: "v" } }] } },
    });
    const [made] = assistant.tool_resources?.file_search?.vector_store_ids ?? [];
    expect(await mine.vectorStores.retrieve(made as string)).toMatchObject({ metadata: { k: "v" } });
    expect((await mine.vectorStores.files.list(made as string)).data.map((x) => x.id)).toEqual([doc.id]);
    // A store made for the assistant goes with it.
    await mine.beta.assistants.delete(assistant.id);
    expect(await refusal(mine.vectorStores.retrieve(made as string))).toMatchObject({ status: 404 });
  });

  it("keeps stores per tenant and takes only the tenant's own files into them", async () => {
    const store = await mine.vectorStores.create({ name: "private" });
    const f = await mine.files.create({ file: await file("mine.txt", "x"), purpose: "assistants" });
    const theirFile = await theirs.files.create({
      file: await file("theirs.txt", "y"),
      purpose: "assistants",
    });
    const storeGone = { status: 404, code: "vector_store_not_found", param: "vector_store_id" };
    expect(await refusal(theirs.vectorStores.retrieve(store.id))).toEqual(storeGone);
    expect(await refusal(theirs.vectorStores.update(store.id, { name: "x" }))).toEqual(storeGone);
    expect(await refusal(theirs.vectorStores.delete(store.id))).toEqual(storeGone);
    expect(await refusal(theirs.vectorStores.files.list(store.id))).toEqual(storeGone);
    expect(await refusal(theirs.vectorStores.files.create(store.id, { file_id: theirFile.id }))).toEqual(
      storeGone,
    );
    expect(
      await refusal(theirs.vectorStores.fileBatches.create(store.id, { file_ids: [theirFile.id] })),
    ).toEqual(storeGone);
    expect((await theirs.vectorStores.list()).data.map((s) => s.id)).not.toContain(store.id);
    // My store, their file (or an unknown one): the file is unknown to me.
    const fileGone = { status: 404, code: "file_not_found" };
    expect(await refusal(mine.vectorStores.files.create(store.id, { file_id: theirFile.id }))).toEqual({
      ...fileGone,
      param: "file_id",
    });
    expect(
      await refusal(mine.vectorStores.fileBatches.create(store.id, { file_ids: [f.id, theirFile.id] })),
    ).toEqual({
      ...fileGone,
      param: "file_ids.1",
    });
    expect(await refusal(mine.vectorStores.create({ file_ids: [theirFile.id] }))).toEqual({
      ...fileGone,
      param: "file_ids.0",
    });
    // A batch of another store is not found under mine.
    const theirStore = await theirs.vectorStores.create({ file_ids: [theirFile.id] });
    const theirBatch = await theirs.vectorStores.fileBatches.create(theirStore.id, {
      file_ids: [theirFile.id],
    });
    expect(
      await refusal(mine.vectorStores.fileBatches.retrieve(theirBatch.id, { vector_store_id: store.id })),
    ).toEqual({ status: 404, code: "file_batch_not_found", param: "batch_id" });
  });
});
