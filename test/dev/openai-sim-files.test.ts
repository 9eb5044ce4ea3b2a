// Conformance of dev/openai-sim's Files, Vector Stores, containers and hosted tools with the official
// `openai` SDK, and of its objects with the required fields of OpenAI's published schemas.
import { existsSync, readFileSync } from "node:fs";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";
import { apiError, MODEL, settle } from "./openai-sim-helpers.ts";

let sim: OpenAISimHandle;
let client: OpenAI;

beforeAll(async () => {
  sim = await startOpenAISim({ timeScale: 0.1, ingestDelayMs: 300 });
  client = new OpenAI({ baseURL: sim.baseURL, apiKey: sim.apiKey, maxRetries: 0 });
});
afterAll(async () => sim?.close());
beforeEach(() => sim.reset());

async function uploadFile(name: string, text: string, purpose: "assistants" | "user_data" = "assistants") {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose });
}

const POLL = { pollIntervalMs: 20 };

/** The `required` list of a schema in OpenAI's OpenAPI description (components.schemas). */
function requiredOf(spec: string, schema: string): string[] {
  const lines = spec.split("\n");
  let i = lines.indexOf(`    ${schema}:`);
  if (i < 0) throw new Error(`schema ${schema} not found`);
  for (i++; i < lines.length && !/^ {4}\S/.test(lines[i] as string); i++) {
    if (lines[i] !== "      required:") continue;
    const out: string[] = [];
    for (i++; /^ {8}- /.test(lines[i] as string); i++) out.push((lines[i] as string).trim().slice(2));
    return out;
  }
  return [];
}

/** Required fields per schema, as the spec of 2026-08-21 lists them (checked against it when present). */
const REQUIRED: Record<string, string[]> = {
  OpenAIFile: ["id", "object", "bytes", "created_at", "filename", "purpose", "status"],
  VectorStoreObject: [
    "id",
    "object",
    "usage_bytes",
    "created_at",
    "status",
    "last_active_at",
    "name",
    "file_counts",
    "metadata",
  ],
  VectorStoreFileObject: [
    "id",
    "object",
    "usage_bytes",
    "created_at",
    "vector_store_id",
    "status",
    "last_error",
  ],
  VectorStoreFileBatchObject: ["id", "object", "created_at", "vector_store_id", "status", "file_counts"],
  ContainerResource: ["id", "object", "name", "created_at", "status"],
  ContainerFileResource: ["id", "object", "created_at", "bytes", "container_id", "path", "source"],
  CodeInterpreterToolCall: ["type", "id", "status", "container_id", "code", "outputs"],
  FileSearchToolCall: ["id", "type", "status", "queries"],
  FileCitationBody: ["type", "file_id", "index", "filename"],
  ContainerFileCitationBody: ["type", "container_id", "file_id", "start_index", "end_index", "filename"],
};

const SPEC = new URL("../../../shared/reference/openai-openapi.yaml", import.meta.url);

describe.runIf(existsSync(SPEC))("the schemas this test holds the simulator to", () => {
  it("are the published ones", () => {
    const spec = readFileSync(SPEC, "utf8");
    for (const [schema, fields] of Object.entries(REQUIRED)) {
      expect([schema, [...new Set(requiredOf(spec, schema))].sort()]).toEqual([
        schema,
        [...new Set(fields)].sort(),
      ]);
    }
  });
});

const hasRequired = (schema: string, obj: unknown) =>
  expect(Object.keys(obj as object)).toEqual(expect.arrayContaining(REQUIRED[schema] as string[]));

describe("files", () => {
  it("uploads (multipart), retrieves, lists, downloads what may be downloaded, and deletes", async () => {
    const notes = await uploadFile("notes.txt", "The zebra sleeps at noon.");
    expect(notes).toMatchObject({ object: "file", bytes: 25, filename: "notes.txt", purpose: "assistants" });
    expect(notes.id).toMatch(/^file-[A-Za-z0-9]{22}$/);
    hasRequired("OpenAIFile", notes);
    expect(await client.files.retrieve(notes.id)).toEqual(notes);
    const data = await uploadFile("data.txt", "a,b", "user_data");
    const listed = await client.files.list();
    expect(listed.data.map((f) => f.id)).toEqual([data.id, notes.id]);
    expect((await client.files.list({ purpose: "user_data" })).data.map((f) => f.id)).toEqual([data.id]);
    expect(await (await client.files.content(data.id)).text()).toBe("a,b");
    // Upstream does not hand out the content of uploads for the Assistants tools.
    const refused = await apiError(client.files.content(notes.id));
    expect(refused.status).toBe(400);
    expect(await client.files.delete(notes.id)).toEqual({ id: notes.id, object: "file", deleted: true });
    expect((await apiError(client.files.retrieve(notes.id))).status).toBe(404);
  });

  it("refuses an upload without a file or with an unknown purpose", async () => {
    const bad = await apiError(
      client.files.create({ file: await toFile(Buffer.from("x"), "x.txt"), purpose: "nonsense" as never }),
    );
    expect({ status: bad.status, param: bad.param }).toEqual({ status: 400, param: "purpose" });
    const form = new FormData();
    form.set("purpose", "assistants");
    const res = await fetch(`${sim.baseURL}/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.apiKey}` },
      body: form,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBe("file");
  });
});

describe("vector stores", () => {
  it("ingests files in_progress → completed; uploadAndPoll returns the completed batch", async () => {
    const store = await client.vectorStores.create({ name: "docs" });
    hasRequired("VectorStoreObject", store);
    expect(store).toMatchObject({ object: "vector_store", name: "docs", status: "completed" });
    const batch = await client.vectorStores.fileBatches.uploadAndPoll(
      store.id,
      {
        files: [
          await toFile(Buffer.from("Zebras are striped."), "a.txt"),
          await toFile(Buffer.from("b"), "b.md"),
        ],
      },
      POLL,
    );
    hasRequired("VectorStoreFileBatchObject", batch);
    expect(batch).toMatchObject({
      object: "vector_store.files_batch",
      vector_store_id: store.id,
      status: "completed",
      file_counts: { completed: 2, in_progress: 0, failed: 0, cancelled: 0, total: 2 },
    });
    const files = await client.vectorStores.files.list(store.id);
    expect(files.data).toHaveLength(2);
    hasRequired("VectorStoreFileObject", files.data[0]);
    const again = await client.vectorStores.retrieve(store.id);
    expect(again).toMatchObject({ status: "completed", file_counts: { completed: 2 } });
    expect(again.usage_bytes).toBe(20);
  });

  it("shows in_progress while ingesting, fails unsupported and scripted files, cancels batches", async () => {
    const slow = await uploadFile("slow.txt", 'text #sim {"ingest_delay_ms": 100000}');
    const csv = await uploadFile("table.csv", "a,b\n1,2\n");
    const broken = await uploadFile(
      "broken.txt",
      '#sim {"ingest_fail": "invalid_file", "ingest_delay_ms": 0}',
    );
    const store = await client.vectorStores.create({ name: "mixed", file_ids: [slow.id] });
    expect(store.status).toBe("in_progress");
    const failedCsv = await client.vectorStores.files.createAndPoll(store.id, { file_id: csv.id }, POLL);
    expect(failedCsv).toMatchObject({ status: "failed", last_error: { code: "unsupported_file" } });
    const failedBroken = await client.vectorStores.files.createAndPoll(
      store.id,
      { file_id: broken.id },
      POLL,
    );
    expect(failedBroken.last_error?.code).toBe("invalid_file");
    const inProgress = await client.vectorStores.files.list(store.id, { filter: "in_progress" });
    expect(inProgress.data.map((f) => f.id)).toEqual([slow.id]);
    const batch = await client.vectorStores.fileBatches.create(store.id, { file_ids: [slow.id] });
    expect(batch.status).toBe("in_progress");
    const cancelled = await client.vectorStores.fileBatches.cancel(batch.id, { vector_store_id: store.id });
    expect(cancelled.status).toBe("cancelled");
    // Deleting a file removes it from its stores.
    await client.files.delete(csv.id);
    const left = await client.vectorStores.files.list(store.id);
    expect(left.data.map((f) => f.id).sort()).toEqual([broken.id, slow.id].sort());
    expect(await client.vectorStores.delete(store.id)).toMatchObject({ deleted: true });
    expect((await apiError(client.vectorStores.retrieve(store.id))).status).toBe(404);
  });
});

describe("hosted tools in responses", () => {
  it("file_search answers a question with a word from a stored file, citing it", async () => {
    const store = await client.vectorStores.create({ name: "kb" });
    const doc = await uploadFile("animals.txt", "Cats purr.\nThe zebra sleeps at noon. Dogs bark.");
    await client.vectorStores.files.createAndPoll(store.id, { file_id: doc.id }, POLL);
    const r = await settle(
      client,
      (
        await client.responses.create({
          model: MODEL,
          input: "When does the zebra sleep?",
          tools: [{ type: "file_search", vector_store_ids: [store.id] }],
          background: true,
        })
      ).id,
    );
    const [call, message] = r.output;
    hasRequired("FileSearchToolCall", call);
    expect(call).toMatchObject({ type: "file_search_call", status: "completed" });
    expect(r.output_text).toBe('According to animals.txt: "The zebra sleeps at noon."');
    const part = message?.type === "message" ? message.content[0] : undefined;
    const citation = part?.type === "output_text" ? part.annotations[0] : undefined;
    hasRequired("FileCitationBody", citation);
    expect(citation).toEqual({
      type: "file_citation",
      file_id: doc.id,
      filename: "animals.txt",
      index: r.output_text.length,
    });
    // No word of the question in any file: the echo, after a search.
    const miss = await client.responses.create({
      model: MODEL,
      input: "quantum chromodynamics",
      tools: [{ type: "file_search", vector_store_ids: [store.id] }],
    });
    expect(miss.output_text).toBe("echo: quantum chromodynamics");
    const unknown = await apiError(
      client.responses.create({
        model: MODEL,
        input: "x",
        tools: [{ type: "file_search", vector_store_ids: ["vs_missing"] }],
      }),
    );
    expect(unknown.status).toBe(404);
  });

  it("a scripted code interpreter writes an image and a CSV into its container and cites them", async () => {
    const csv = await uploadFile("sales.csv", "month,total\njan,3\n");
    const r = await client.responses.create({
      model: MODEL,
      input: 'chart it #sim {"code_interpreter": {"files": ["chart.png", "summary.csv"]}, "delay_ms": 0}',
      tools: [{ type: "code_interpreter", container: { type: "auto", file_ids: [csv.id] } }],
    });
    const [call, message] = r.output;
    hasRequired("CodeInterpreterToolCall", call);
    const containerId = call?.type === "code_interpreter_call" ? call.container_id : "";
    expect(containerId).toMatch(/^cntr_/);
    const part = message?.type === "message" ? message.content[0] : undefined;
    const annotations = part?.type === "output_text" ? part.annotations : [];
    expect(annotations.map((a) => a.type === "container_file_citation" && a.filename)).toEqual([
      "chart.png",
      "summary.csv",
    ]);
    hasRequired("ContainerFileCitationBody", annotations[0]);
    const first = annotations[0] as { start_index: number; end_index: number };
    expect(r.output_text.slice(first.start_index, first.end_index)).toBe("sandbox:/mnt/data/chart.png");
    hasRequired("ContainerResource", await client.containers.retrieve(containerId));
    const files = await client.containers.files.list(containerId);
    expect(files.data.map((f) => [f.path, f.source]).sort()).toEqual([
      ["/mnt/data/chart.png", "assistant"],
      ["/mnt/data/sales.csv", "user"],
      ["/mnt/data/summary.csv", "assistant"],
    ]);
    hasRequired("ContainerFileResource", files.data[0]);
    const png = files.data.find((f) => f.path.endsWith("chart.png"));
    const bytes = Buffer.from(
      await (
        await client.containers.files.content.retrieve(png?.id as string, { container_id: containerId })
      ).arrayBuffer(),
    );
    expect(bytes.subarray(1, 4).toString()).toBe("PNG");
    const summary = files.data.find((f) => f.path.endsWith("summary.csv"));
    const text = await (
      await client.containers.files.content.retrieve(summary?.id as string, { container_id: containerId })
    ).text();
    expect(text).toBe("file,bytes\n/mnt/data/sales.csv,18\n");
  });

  it("refuses a code interpreter without a container or with unknown files", async () => {
    const missing = await apiError(
      client.responses.create({ model: MODEL, input: "x", tools: [{ type: "code_interpreter" } as never] }),
    );
    expect({ status: missing.status, param: missing.param }).toEqual({
      status: 400,
      param: "tools[0].container",
    });
    const unknown = await apiError(
      client.responses.create({
        model: MODEL,
        input: "x",
        tools: [{ type: "code_interpreter", container: { type: "auto", file_ids: ["file-nope"] } }],
      }),
    );
    expect(unknown.status).toBe(404);
  });
});
