/** Files in a run (engine/files.ts, pure) and the signed download links (delivery/file-links.ts). */
import { describe, expect, it } from "vitest";
import { checkFileLink, fileLink } from "../../src/delivery/file-links";
import { fileAction, runFilesFor, STORE_CHECK_MS, withThreadResources } from "../../src/engine/files";
import { nextAction } from "../../src/engine/next";
import { transition } from "../../src/engine/run";
import type { RunRecord, ToolDef } from "../../src/engine/types";
import { answer, newRun, T0 } from "./step-fakes";

const attach = (file_id: string, ...tools: ("file_search" | "code_interpreter")[]) => ({
  attachments: [{ file_id, tools: tools.map((type) => ({ type })) }],
});
const url = (u: string, ...tools: ("file_search" | "code_interpreter")[]) => ({
  url: u,
  filename: null,
  tools,
  file_id: null,
});

describe("what a run works on", () => {
  it("nothing: no resources, no change (runs without files stay as they were)", () => {
    expect(
      runFilesFor({ assistantResources: {}, messages: [{ attachments: null }], urls: [], tools: [] }),
    ).toBe(undefined);
  });

  it("the assistant's resources, attachments by tool, v1 file_ids by the run's tools; attachments add tools", () => {
    const tools: ToolDef[] = [{ type: "code_interpreter" }];
    const r = runFilesFor({
      assistantResources: {
        code_interpreter: { file_ids: ["f-a"] },
        file_search: { vector_store_ids: ["vs_a"] },
      },
      messages: [
        attach("f-s", "file_search"),
        attach("f-c", "code_interpreter"),
        { attachments: null, file_ids: ["f-1"] },
      ],
      urls: [],
      tools,
    });
    expect(r?.toolResources).toEqual({
      vector_store_ids: ["vs_a"],
      code_interpreter_file_ids: ["f-a", "f-c", "f-1"],
    });
    // The file_search attachment adds the tool and waits to go into the thread's store.
    expect(r?.tools).toEqual([{ type: "code_interpreter" }, { type: "file_search" }]);
    expect(r?.files?.prep).toEqual({
      urls: [],
      search_file_ids: ["f-s"],
      wait_store_ids: [],
      check_at_ms: null,
    });
  });

  it("the thread's resources and attachment store join when the run starts (and bring file_search)", () => {
    const run = withThreadResources(newRun(), {
      tool_resources: {
        code_interpreter: { file_ids: ["f-t"] },
        file_search: { vector_store_ids: ["vs_t"] },
      },
      files_store: "vs_files",
    });
    expect(run.params.tool_resources).toEqual({
      vector_store_ids: ["vs_t", "vs_files"],
      code_interpreter_file_ids: ["f-t"],
    });
    expect(run.params.tools).toEqual([{ type: "file_search" }]);
  });
});

describe("preparing attachments before the first response", () => {
  const prepared = (over: Partial<RunRecord> = {}) => {
    const files = runFilesFor({
      assistantResources: {},
      messages: [],
      urls: [url("https://x.test/a.txt", "file_search", "code_interpreter")],
      tools: [],
    });
    return { ...newRun(T0, { files }), ...over };
  };

  it("fetch → into the thread's store → wait for ingestion → then the conversation and the response", () => {
    let run = transition(prepared(), { type: "held_taken", messages: [] }, T0);
    expect(nextAction(run, T0)).toEqual({ type: "check_quota" });
    run = transition(run, { type: "quota_checked", exceeded_limit: null }, T0);
    expect(nextAction(run, T0)).toEqual({ type: "prepare_files" });
    run = transition(run, { type: "attachment_ready", index: 0, file_id: "file-1" }, T0);
    expect(run.params.tool_resources?.code_interpreter_file_ids).toEqual(["file-1"]);
    expect(run.files?.prep?.search_file_ids).toEqual(["file-1"]);
    run = transition(run, { type: "search_files_added", vector_store_id: "vs_1" }, T0);
    expect(run.params.tool_resources?.vector_store_ids).toEqual(["vs_1"]);
    expect(run.files?.prep?.wait_store_ids).toEqual(["vs_1"]);
    run = transition(run, { type: "stores_checked", ready: false }, T0);
    expect(nextAction(run, T0)).toEqual({ type: "wait", until_ms: T0 + STORE_CHECK_MS });
    expect(nextAction(run, T0 + STORE_CHECK_MS)).toEqual({ type: "prepare_files" });
    run = transition(run, { type: "stores_checked", ready: true }, T0 + STORE_CHECK_MS);
    expect(run.files?.prep).toBe(null);
    expect(nextAction(run, T0 + STORE_CHECK_MS)).toEqual({ type: "create_conversation" });
  });

  it("an unusable attachment fails the run with attachment_unavailable", () => {
    const run = transition(
      prepared(),
      { type: "attachments_unavailable", message: "attachments.0.url: HTTP 404" },
      T0,
    );
    expect(run.status).toBe("failed");
    expect(run.last_error).toEqual({
      code: "attachment_unavailable",
      message: "attachments.0.url: HTTP 404",
    });
    expect(fileAction(run, T0)).toBe(null);
  });
});

describe("collecting what the code interpreter made", () => {
  it("holds the answer, then completes with image_file parts and file_path annotations of the copies", () => {
    let run = transition(newRun(), { type: "conversation_ready", conversation_id: "conv_1" }, T0);
    const text = "Done. [chart.png](sandbox:/mnt/data/chart.png)";
    const response = answer(text, {
      containers: ["cntr_1"],
      content: [
        {
          type: "text",
          text: {
            value: text,
            annotations: [
              {
                type: "file_path",
                text: "sandbox:/mnt/data/chart.png",
                start_index: 18,
                end_index: 45,
                file_path: { file_id: "cfile_1" },
                container_id: "cntr_1",
              },
            ],
          },
        },
      ],
    });
    run = transition(run, { type: "response_created", response: { ...response, status: "in_progress" } }, T0);
    run = transition(run, { type: "response_observed", response }, T0 + 1);
    expect(run.status).toBe("in_progress");
    expect(nextAction(run, T0 + 1)).toEqual({ type: "collect_files", containers: ["cntr_1"] });
    const chart = {
      file_id: "file-chart",
      filename: "chart.png",
      mime_type: "image/png",
      bytes: 70,
      container_id: "cntr_1",
      container_file_id: "cfile_1",
    };
    run = transition(run, { type: "files_collected", files: [chart] }, T0 + 2);
    expect(run.status).toBe("completed");
    expect(run.output?.text).toBe(text);
    expect(run.output?.content).toEqual([
      { type: "image_file", image_file: { file_id: "file-chart" } },
      {
        type: "text",
        text: {
          value: text,
          annotations: [
            {
              type: "file_path",
              text: "sandbox:/mnt/data/chart.png",
              start_index: 18,
              end_index: 45,
              file_path: { file_id: "file-chart" },
            },
          ],
        },
      },
    ]);
    expect(run.files?.generated).toEqual([chart]);
    expect(run.steps.at(-1)?.message_id).toBe("msg_1");
  });
});

describe("containers of earlier tool rounds", () => {
  it("are collected when the final answer comes, even if it used no container itself", () => {
    const tools: ToolDef[] = [{ type: "function", function: { name: "f" } }, { type: "code_interpreter" }];
    let run = newRun(T0, { overrides: { tools } });
    run = transition(run, { type: "conversation_ready", conversation_id: "conv_1" }, T0);
    const round = answer("", {
      containers: ["cntr_1"],
      tool_calls: [{ call_id: "call_1", name: "f", arguments: "{}" }],
    });
    run = transition(run, { type: "response_created", response: { ...round, status: "in_progress" } }, T0);
    run = transition(run, { type: "response_observed", response: round }, T0 + 1);
    expect(run.status).toBe("requires_action");
    run = transition(
      run,
      { type: "tool_outputs_submitted", outputs: [{ tool_call_id: "call_1", output: "1" }] },
      T0 + 2,
    );
    const final = answer("done", { id: "resp_2" });
    run = transition(
      run,
      { type: "response_created", response: { ...final, status: "in_progress" } },
      T0 + 3,
    );
    run = transition(run, { type: "response_observed", response: final }, T0 + 4);
    expect(nextAction(run, T0 + 4)).toEqual({ type: "collect_files", containers: ["cntr_1"] });
    run = transition(run, { type: "files_collected", files: [] }, T0 + 5);
    expect(run.status).toBe("completed");
    expect(run.output?.text).toBe("done");
  });
});

describe("download links", () => {
  const secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  const other = "whsec_ISEhISEhISEhISEhISEhISEhISEhISEhISEhISE=";
  const link = (expires: number, s = secret) =>
    fileLink({ baseUrl: "https://th.example", tenant: "t1", fileId: "file-1", expires, secret: s });
  const check = async (href: string, secrets: string[], nowMs = T0) => {
    const q = new URL(href).searchParams;
    return checkFileLink({
      tenant: q.get("tenant") as string,
      fileId: "file-1",
      expires: Number(q.get("expires")),
      signature: q.get("signature") as string,
      secrets,
      nowMs,
    });
  };

  it("verifies with any live secret of the tenant until it expires", async () => {
    const href = await link(T0 / 1000 + 60);
    expect(href).toMatch(
      /^https:\/\/th\.example\/v1\/files\/file-1\/download\?tenant=t1&expires=\d+&signature=[\w-]+$/,
    );
    expect(await check(href, [secret])).toBe("ok");
    expect(await check(href, [other, secret])).toBe("ok");
    expect(await check(href, [other])).toBe("invalid");
    expect(await check(href, [secret], T0 + 60_000)).toBe("expired");
  });

  it("refuses a changed tenant, file or expiry", async () => {
    const href = await link(T0 / 1000 + 60);
    const q = new URL(href).searchParams;
    const base = { fileId: "file-1", signature: q.get("signature") as string, secrets: [secret], nowMs: T0 };
    const expires = Number(q.get("expires"));
    expect(await checkFileLink({ ...base, tenant: "t2", expires })).toBe("invalid");
    expect(await checkFileLink({ ...base, tenant: "t1", fileId: "file-2", expires })).toBe("invalid");
    expect(await checkFileLink({ ...base, tenant: "t1", expires: expires + 1 })).toBe("invalid");
  });
});
