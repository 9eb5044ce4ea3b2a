/**
 * Issue 14 acceptance, Assistants front door: the file flows of the Assistants docs through the
 * official SDK (`openai.files`, `openai.vectorStores`, `openai.beta.*`), whole stack + Worker.
 */
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, startE2E } from "../support/e2e";
import { registerSecrets } from "../support/log-capture/registry.ts";
import { checkedSdkFetch } from "../support/openapi-check";

let e2e: E2E;
let client: OpenAI;

beforeAll(async () => {
  e2e = await startE2E();
  client = new OpenAI({
    baseURL: `${e2e.worker}/v1`,
    apiKey: e2e.stack.ready.apiKey as string,
    maxRetries: 0,
    fetch: checkedSdkFetch,
  });
});
afterAll(async () => e2e?.close());

const POLL = { pollIntervalMs: 50 };
const file = (name: string, text: string) => toFile(Buffer.from(text), name);
type Message = OpenAI.Beta.Threads.Message;
const textOf = (m: Message | undefined) =>
  (m?.content ?? []).map((c) => (c.type === "text" ? c.text.value : "")).join("");
const annotationsOf = (m: Message | undefined) =>
  (m?.content ?? []).flatMap((c) => (c.type === "text" ? c.text.annotations : []));
const lastReply = async (threadId: string) => (await client.beta.threads.messages.list(threadId)).data[0];

/** What the Worker sent OpenAI for a run's responses (the simulator records every request). */
async function sentFor(runId: string) {
  const all = (await (await fetch(`${e2e.stack.openai.url}/__sim/responses`)).json()) as {
    data: { metadata: Record<string, string>; input: any[]; tools: any[] }[];
  };
  return all.data.filter((r) => r.metadata.threadhook_run === runId);
}

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  const e = err as InstanceType<typeof OpenAI.APIError>;
  return { status: e.status, code: e.code, param: e.param };
};

describe("file_search (the Assistants docs' flow)", () => {
  it("upload → vector store → uploadAndPoll → assistant with file_search → run → answer with a file_citation", async () => {
    const store = await client.vectorStores.create({ name: "Financial Statements" });
    const batch = await client.vectorStores.fileBatches.uploadAndPoll(
      store.id,
      {
        files: [
          await file("report.txt", "Revenue grew by 12 percent. The auditor was Kestrel & Co."),
          await file("notes.md", "Nothing to see here."),
        ],
      },
      POLL,
    );
    expect(batch).toMatchObject({ status: "completed", file_counts: { completed: 2, total: 2 } });
    const assistant = await client.beta.assistants.create({
      model: "gpt-sim",
      instructions: "You are an expert financial analyst.",
      tools: [{ type: "file_search" }],
      tool_resources: { file_search: { vector_store_ids: [store.id] } },
    });
    expect(assistant.tool_resources).toEqual({ file_search: { vector_store_ids: [store.id] } });
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: "Who was the auditor?" }],
    });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, POLL);
    expect(run.status).toBe("completed");
    const [sent] = await sentFor(run.id);
    expect(sent?.tools).toEqual([{ type: "file_search", vector_store_ids: [store.id] }]);
    const reply = await lastReply(thread.id);
    expect(textOf(reply)).toBe('According to report.txt: "The auditor was Kestrel & Co."');
    const report = (await client.vectorStores.files.list(store.id)).data;
    const [citation] = annotationsOf(reply);
    expect(citation).toMatchObject({ type: "file_citation", text: "report.txt" });
    expect(report.map((f) => f.id)).toContain(
      citation?.type === "file_citation" && citation.file_citation.file_id,
    );
  });
});

describe("code interpreter", () => {
  it("CSV → code_interpreter → image_file in the reply → files.content() returns the bytes", async () => {
    const csv = await client.files.create({
      file: await file("sales.csv", "month,total\njan,3\nfeb,5\n"),
      purpose: "assistants",
    });
    const assistant = await client.beta.assistants.create({
      model: "gpt-sim",
      tools: [{ type: "code_interpreter" }],
      tool_resources: { code_interpreter: { file_ids: [csv.id] } },
    });
    const thread = await client.beta.threads.create();
    await client.beta.threads.messages.create(thread.id, {
      role: "user",
      content: 'Chart the sales #sim {"code_interpreter": {"files": ["chart.png", "summary.csv"]}}',
    });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, POLL);
    expect(run.status).toBe("completed");
    const reply = await lastReply(thread.id);
    const image = reply?.content.find((c) => c.type === "image_file");
    expect(image?.type).toBe("image_file");
    const imageId = image?.type === "image_file" ? image.image_file.file_id : "";
    expect(imageId).toMatch(/^file-/);
    const png = Buffer.from(await (await client.files.content(imageId)).arrayBuffer());
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const paths = annotationsOf(reply).filter((a) => a.type === "file_path");
    expect(paths.map((a) => a.text)).toEqual([
      "sandbox:/mnt/data/chart.png",
      "sandbox:/mnt/data/summary.csv",
    ]);
    const csvOut = paths[1]?.type === "file_path" ? paths[1].file_path.file_id : "";
    expect(await (await client.files.content(csvOut)).text()).toBe(
      `file,bytes\n/mnt/data/sales.csv,${csv.bytes}\n`,
    );
    const shown = await client.files.retrieve(csvOut);
    expect(shown).toMatchObject({ purpose: "assistants_output", filename: "summary.csv" });
  });
});

describe("message attachments", () => {
  it("file_search attachments go into a store made for the thread, reused, deleted with the thread", async () => {
    const assistant = await client.beta.assistants.create({ model: "gpt-sim" });
    // Ingestion takes ~300 ms here: the run must wait for it, or it would not find the zebra.
    const first = await client.files.create({
      file: await file("zebra.txt", 'The zebra sleeps at noon.\n#sim {"ingest_delay_ms": 30000}'),
      purpose: "assistants",
    });
    const thread = await client.beta.threads.create();
    await client.beta.threads.messages.create(thread.id, {
      role: "user",
      content: "When does the zebra sleep?",
      attachments: [{ file_id: first.id, tools: [{ type: "file_search" }] }],
    });
    const run1 = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant.id },
      POLL,
    );
    expect(run1.status).toBe("completed");
    expect(run1.tools).toEqual([{ type: "file_search" }]);
    expect(textOf(await lastReply(thread.id))).toBe('According to zebra.txt: "The zebra sleeps at noon."');
    const storeIds =
      (await client.beta.threads.retrieve(thread.id)).tool_resources?.file_search?.vector_store_ids ?? [];
    expect(storeIds).toHaveLength(1);
    const store = storeIds[0] as string;

    const second = await client.files.create({
      file: await file("otter.txt", "The otter floats on its back."),
      purpose: "assistants",
    });
    await client.beta.threads.messages.create(thread.id, {
      role: "user",
      content: "How does the otter rest?",
      attachments: [{ file_id: second.id, tools: [{ type: "file_search" }] }],
    });
    const run2 = await client.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant.id },
      POLL,
    );
    expect(run2.status).toBe("completed");
    expect(textOf(await lastReply(thread.id))).toBe(
      'According to otter.txt: "The otter floats on its back."',
    );
    expect(
      (await client.beta.threads.retrieve(thread.id)).tool_resources?.file_search?.vector_store_ids,
    ).toEqual([store]);
    const inStore = (await client.vectorStores.files.list(store)).data.map((f) => f.id).sort();
    expect(inStore).toEqual([first.id, second.id].sort());
    // A later run without attachments still searches the thread's files.
    await client.beta.threads.messages.create(thread.id, { role: "user", content: "And the zebra?" });
    await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, POLL);
    expect(textOf(await lastReply(thread.id))).toBe('According to zebra.txt: "The zebra sleeps at noon."');

    await client.beta.threads.delete(thread.id);
    expect(await refusal(client.vectorStores.retrieve(store))).toMatchObject({ status: 404 });
  });

  it("code_interpreter attachments and image_file parts reach the run; images go as input_image", async () => {
    const assistant = await client.beta.assistants.create({
      model: "gpt-sim",
      tools: [{ type: "code_interpreter" }],
    });
    const data = await client.files.create({
      file: await file("data.csv", "a,b\n1,2\n"),
      purpose: "assistants",
    });
    const pic = await client.files.create({
      file: await file("pic.png", "not really a png"),
      purpose: "vision",
    });
    const run = await client.beta.threads.createAndRunPoll(
      {
        assistant_id: assistant.id,
        thread: {
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: 'Summarise #sim {"code_interpreter": {"files": ["out.csv"]}}' },
                { type: "image_file", image_file: { file_id: pic.id } },
              ],
              attachments: [{ file_id: data.id, tools: [{ type: "code_interpreter" }] }],
            },
          ],
        },
      },
      POLL,
    );
    expect(run.status).toBe("completed");
    const [sent] = await sentFor(run.id);
    expect(sent?.tools).toEqual([
      { type: "code_interpreter", container: { type: "auto", file_ids: [data.id] } },
    ]);
    expect(sent?.input[0]?.content).toEqual([
      { type: "input_text", text: expect.stringContaining("Summarise") },
      { type: "input_image", file_id: pic.id, detail: "auto" },
    ]);
    const reply = await lastReply(run.thread_id);
    const out = annotationsOf(reply).find((a) => a.type === "file_path");
    const outId = out?.type === "file_path" ? out.file_path.file_id : "";
    expect(await (await client.files.content(outId)).text()).toBe("file,bytes\n/mnt/data/data.csv,8\n");
  });
});

describe("ownership", () => {
  it("another tenant's file and store ids are unknown wherever they are given", async () => {
    const other = await e2e.createTenant({ name: "files-other" });
    const key = await other.issue("admin");
    registerSecrets({ filesOther: key.key });
    const them = new OpenAI({
      baseURL: `${e2e.worker}/v1`,
      apiKey: key.key,
      maxRetries: 0,
      fetch: checkedSdkFetch,
    });
    const theirFile = await them.files.create({ file: await file("t.txt", "theirs"), purpose: "assistants" });
    const theirStore = await them.vectorStores.create({ name: "theirs" });
    const fileGone = { status: 404, code: "file_not_found" };
    const storeGone = { status: 404, code: "vector_store_not_found" };
    expect(
      await refusal(
        client.beta.assistants.create({
          model: "gpt-sim",
          tool_resources: { code_interpreter: { file_ids: [theirFile.id] } },
        }),
      ),
    ).toEqual({ ...fileGone, param: "tool_resources.code_interpreter.file_ids.0" });
    expect(
      await refusal(
        client.beta.assistants.create({
          model: "gpt-sim",
          tool_resources: { file_search: { vector_store_ids: [theirStore.id] } },
        }),
      ),
    ).toEqual({ ...storeGone, param: "tool_resources.file_search.vector_store_ids.0" });
    expect(
      await refusal(
        client.beta.assistants.create({
          model: "gpt-sim",
          tool_resources: { file_search: { vector_stores: [{ file_ids: [theirFile.id] }] } },
        }),
      ),
    ).toEqual({ ...fileGone, param: "tool_resources.file_search.vector_stores.0.file_ids.0" });
    const thread = await client.beta.threads.create();
    expect(
      await refusal(
        client.beta.threads.messages.create(thread.id, {
          role: "user",
          content: "x",
          attachments: [{ file_id: theirFile.id, tools: [{ type: "file_search" }] }],
        }),
      ),
    ).toEqual({ ...fileGone, param: "attachments.0.file_id" });
    expect(
      await refusal(
        client.beta.threads.messages.create(thread.id, {
          role: "user",
          content: [{ type: "image_file", image_file: { file_id: theirFile.id } }],
        }),
      ),
    ).toEqual({ ...fileGone, param: "content.0.image_file.file_id" });
    expect(
      await refusal(
        client.beta.threads.update(thread.id, {
          tool_resources: { file_search: { vector_store_ids: [theirStore.id] } },
        }),
      ),
    ).toEqual({ ...storeGone, param: "tool_resources.file_search.vector_store_ids.0" });
    const assistant = await client.beta.assistants.create({ model: "gpt-sim" });
    expect(
      await refusal(
        client.beta.threads.runs.create(thread.id, {
          assistant_id: assistant.id,
          additional_messages: [
            {
              role: "user",
              content: "x",
              attachments: [{ file_id: theirFile.id, tools: [{ type: "code_interpreter" }] }],
            },
          ],
        }),
      ),
    ).toMatchObject(fileGone);
    expect(
      await refusal(
        client.beta.threads.createAndRun({
          assistant_id: assistant.id,
          thread: {
            messages: [{ role: "user", content: "x" }],
            tool_resources: { code_interpreter: { file_ids: [theirFile.id] } },
          },
        }),
      ),
    ).toMatchObject(fileGone);
  });
});

describe("Assistants v1 forms", () => {
  const v1 = (method: string, path: string, body?: unknown) =>
    e2e.api(method, path, body, { "OpenAI-Beta": "assistants=v1" });

  it("file_ids + the retrieval tool on an assistant: file_search over a store of those files", async () => {
    const doc = await client.files.create({
      file: await file("handbook.md", "Holidays start on the first Monday."),
      purpose: "assistants",
    });
    const created = await v1("POST", "/v1/assistants", {
      model: "gpt-sim",
      tools: [{ type: "retrieval" }],
      file_ids: [doc.id],
    });
    expect(created.status).toBe(200);
    expect(created.body.tools).toEqual([{ type: "file_search" }]);
    expect(created.body.file_ids).toEqual([doc.id]);
    const [store] = created.body.tool_resources.file_search.vector_store_ids;
    expect((await client.vectorStores.files.list(store)).data.map((f) => f.id)).toEqual([doc.id]);
    const run = await client.beta.threads.createAndRunPoll(
      {
        assistant_id: created.body.id,
        thread: { messages: [{ role: "user", content: "When do holidays start?" }] },
      },
      POLL,
    );
    expect(run.status).toBe("completed");
    expect(textOf(await lastReply(run.thread_id))).toBe(
      'According to handbook.md: "Holidays start on the first Monday."',
    );
  });

  it("/v1/assistants/{id}/files attaches, lists, retrieves and detaches files", async () => {
    const a = await v1("POST", "/v1/assistants", {
      model: "gpt-sim",
      tools: [{ type: "code_interpreter" }, { type: "retrieval" }],
    });
    const one = await client.files.create({ file: await file("one.txt", "first"), purpose: "assistants" });
    const two = await client.files.create({ file: await file("two.txt", "second"), purpose: "assistants" });
    for (const f of [one, two]) {
      const attached = await v1("POST", `/v1/assistants/${a.body.id}/files`, { file_id: f.id });
      expect(attached.body).toEqual({
        id: f.id,
        object: "assistant.file",
        created_at: f.created_at,
        assistant_id: a.body.id,
      });
    }
    const list = await v1("GET", `/v1/assistants/${a.body.id}/files?order=asc`);
    expect(list.body.data.map((f: any) => f.id)).toEqual([one.id, two.id]);
    expect((await v1("GET", `/v1/assistants/${a.body.id}/files/${two.id}`)).body.object).toBe(
      "assistant.file",
    );
    let assistant = (await v1("GET", `/v1/assistants/${a.body.id}`)).body;
    expect(assistant.tool_resources.code_interpreter.file_ids).toEqual([one.id, two.id]);
    const store = assistant.tool_resources.file_search.vector_store_ids[0];
    expect((await client.vectorStores.files.list(store)).data.map((f) => f.id).sort()).toEqual(
      [one.id, two.id].sort(),
    );
    expect((await v1("DELETE", `/v1/assistants/${a.body.id}/files/${one.id}`)).body).toEqual({
      id: one.id,
      object: "assistant.file.deleted",
      deleted: true,
    });
    assistant = (await v1("GET", `/v1/assistants/${a.body.id}`)).body;
    expect(assistant.file_ids).toEqual([two.id]);
    expect(assistant.tool_resources.code_interpreter.file_ids).toEqual([two.id]);
    expect((await client.vectorStores.files.list(store)).data.map((f) => f.id)).toEqual([two.id]);
    expect((await v1("GET", `/v1/assistants/${a.body.id}/files/${one.id}`)).status).toBe(404);
    // The file itself stays.
    expect((await client.files.retrieve(one.id)).id).toBe(one.id);
  });

  it("file_ids on a message go to the run's code interpreter", async () => {
    const a = await v1("POST", "/v1/assistants", { model: "gpt-sim", tools: [{ type: "code_interpreter" }] });
    const csv = await client.files.create({ file: await file("v1.csv", "x,y\n"), purpose: "assistants" });
    const thread = await client.beta.threads.create();
    const m = await v1("POST", `/v1/threads/${thread.id}/messages`, {
      role: "user",
      content: 'Go #sim {"code_interpreter": {"files": ["out.csv"]}}',
      file_ids: [csv.id],
    });
    expect(m.status).toBe(200);
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: a.body.id }, POLL);
    expect(run.status).toBe("completed");
    const [sent] = await sentFor(run.id);
    expect(sent?.tools).toEqual([
      { type: "code_interpreter", container: { type: "auto", file_ids: [csv.id] } },
    ]);
  });
});
