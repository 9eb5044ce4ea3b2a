/**
 * The I/O behind the engine's file actions (engine/files.ts). `prepare_files` does one piece of a
 * run's attachment work per call (fetch and upload a URL attachment; put the run's file_search
 * attachments into the thread's store; look whether the stores finished ingesting); `collect_files`
 * copies what the code interpreter wrote out of its containers into the tenant's files.
 */
import { isAssistantsFile, mimeOf, registerFile } from "../commands/files";
import { createStore } from "../commands/vector-stores";
import type { Config } from "../config";
import { fetchFile } from "../delivery/fetch-file";
import { transition } from "../engine/run";
import type { GeneratedFile, RunRecord } from "../engine/types";
import { errorFields, log } from "../log";
import type { FileStore, VectorStoreStore } from "../store/files";
import type { ThreadStore } from "../store/records";
import type { FilesUpstream } from "../upstream/files";
import { UpstreamError } from "../upstream/openai";

export interface FileStepDeps {
  config: Pick<Config, "devMode" | "files">;
  threads: Pick<ThreadStore, "get" | "setFilesStore">;
  files: Pick<FileStore, "put" | "many">;
  vectorStores: Pick<VectorStoreStore, "get" | "put" | "delete" | "list" | "many">;
  openaiFiles: Pick<
    FilesUpstream,
    | "upload"
    | "createStore"
    | "retrieveStore"
    | "modifyStore"
    | "deleteStore"
    | "storeCall"
    | "listContainerFiles"
    | "containerFileContent"
  >;
  now: () => number;
}

export async function prepareFiles(deps: FileStepDeps, run: RunRecord): Promise<RunRecord> {
  const prep = run.files?.prep;
  if (!prep) return run;
  const index = prep.urls.findIndex((u) => u.file_id === null);
  if (index >= 0) return fetchAttachment(deps, run, index);
  if (prep.search_file_ids.length > 0) {
    const store = await threadStore(deps, run);
    await deps.openaiFiles.storeCall("POST", store, "/file_batches", { file_ids: prep.search_file_ids });
    return transition(run, { type: "search_files_added", vector_store_id: store }, deps.now());
  }
  const stores = await Promise.all(prep.wait_store_ids.map((id) => deps.openaiFiles.retrieveStore(id)));
  const ready = stores.every(
    (s) => (s.file_counts as { in_progress?: number } | undefined)?.in_progress === 0,
  );
  return transition(run, { type: "stores_checked", ready }, deps.now());
}

async function fetchAttachment(deps: FileStepDeps, run: RunRecord, index: number): Promise<RunRecord> {
  const attachment = run.files?.prep?.urls[index];
  if (!attachment) return run;
  const fetched = await fetchFile(attachment.url, {
    maxBytes: deps.config.files.attachmentMaxBytes,
    timeoutMs: deps.config.files.attachmentTimeoutMs,
    policy: { devMode: deps.config.devMode },
    filename: attachment.filename,
  });
  const problem = !fetched.ok
    ? fetched.reason
    : isAssistantsFile(fetched.filename)
      ? null
      : `'${fetched.filename}' is not a file type the assistant's tools read`;
  if (problem || !fetched.ok) {
    const message = `attachments.${index}.url could not be used: ${problem}`;
    return transition(run, { type: "attachments_unavailable", message }, deps.now());
  }
  const type = fetched.type === "application/octet-stream" ? mimeOf(fetched.filename) : fetched.type;
  const uploaded = await deps.openaiFiles.upload(fetched.bytes, fetched.filename, "assistants", type);
  await registerFile(deps, run.tenant, uploaded, { runId: null, purpose: "assistants" });
  return transition(run, { type: "attachment_ready", index, file_id: uploaded.id }, deps.now());
}

/** The vector store of the run's thread for its attachments: made on first use, then reused. */
async function threadStore(deps: FileStepDeps, run: RunRecord): Promise<string> {
  const existing = (await deps.threads.get(run.tenant, run.thread_id))?.files_store;
  if (existing) return existing;
  const made = await createStore(
    deps,
    run.tenant,
    { name: `thread ${run.thread_id}` },
    { thread_id: run.thread_id },
  );
  const winner = await deps.threads.setFilesStore(run.tenant, run.thread_id, made.id);
  if (winner !== made.id) {
    // Another run of the thread made one at the same moment: keep theirs.
    await deps.openaiFiles.deleteStore(made.id).catch(() => {});
    await deps.vectorStores.delete(run.tenant, made.id);
  }
  return winner;
}

/** Copy the files the code interpreter wrote (not those it was given) into the tenant's files. */
export async function collectFiles(
  deps: FileStepDeps,
  run: RunRecord,
  containers: string[],
): Promise<RunRecord> {
  const generated: GeneratedFile[] = [];
  for (const container of containers) {
    for (const file of await containerFiles(deps, container)) {
      const copy = await copyOut(deps, run, container, file);
      if (copy) generated.push(copy);
    }
  }
  return transition(run, { type: "files_collected", files: generated }, deps.now());
}

async function containerFiles(deps: FileStepDeps, container: string) {
  try {
    return (await deps.openaiFiles.listContainerFiles(container)).filter((f) => f.source !== "user");
  } catch (err) {
    if (err instanceof UpstreamError && err.status === 404) {
      log("warn", "a code interpreter container is gone; its files are lost", { container_id: container });
      return [];
    }
    throw err;
  }
}

async function copyOut(
  deps: FileStepDeps,
  run: RunRecord,
  container: string,
  file: { id: string; bytes: number; path: string },
): Promise<GeneratedFile | null> {
  const filename = file.path.split("/").pop() || file.id;
  const max = deps.config.files.attachmentMaxBytes;
  if (file.bytes > max) {
    log("warn", "a generated file is over ATTACHMENT_MAX_BYTES; not copied", {
      run_id: run.id,
      bytes: file.bytes,
    });
    return null;
  }
  try {
    const res = await deps.openaiFiles.containerFileContent(container, file.id);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const type = mimeOf(filename);
    const uploaded = await deps.openaiFiles.upload(bytes, filename, "user_data", type);
    const record = await registerFile(deps, run.tenant, uploaded, {
      runId: run.id,
      purpose: "assistants_output",
    });
    return {
      file_id: record.id,
      filename,
      mime_type: type,
      bytes: record.bytes,
      container_id: container,
      container_file_id: file.id,
    };
  } catch (err) {
    if (err instanceof UpstreamError && err.status === 404) {
      log("warn", "a generated file is gone from its container", { run_id: run.id, ...errorFields(err) });
      return null;
    }
    throw err;
  }
}
