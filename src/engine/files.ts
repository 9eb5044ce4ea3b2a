/**
 * Files in a run, as pure functions over the record: what the hosted tools work on (vector stores
 * for file_search, files for the code interpreter's container), the attachments to prepare before
 * the first response (URLs to fetch, files to add to the thread's store, ingestion to wait for),
 * and the code interpreter's files to collect after the last one (copied out of its container,
 * shown as `image_file` parts and `file_path` annotations with the copies' ids).
 */
import type { MessageRecord } from "./messages";
import type {
  GeneratedFile,
  OutputPart,
  RunFiles,
  RunRecord,
  RunToolResources,
  TextPart,
  ToolDef,
  UrlAttachment,
} from "./types";

/** The Responses API gives a code interpreter container at most this many files. */
export const MAX_CONTAINER_FILES = 50;
/** How often a run waiting for its vector stores' ingestion looks again. */
export const STORE_CHECK_MS = 1_000;

export type FileAction = { type: "prepare_files" } | { type: "collect_files"; containers: string[] };

type Resources = { code_interpreter?: { file_ids?: unknown }; file_search?: { vector_store_ids?: unknown } };

const unique = (ids: string[]) => [...new Set(ids)];
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
const hasTool = (tools: ToolDef[], type: ToolDef["type"]) => tools.some((t) => t.type === type);

/** The vector stores and files an assistant's `tool_resources` name. */
export function resourcesOf(raw: unknown): RunToolResources {
  const r = (raw ?? {}) as Resources;
  return {
    vector_store_ids: strings(r.file_search?.vector_store_ids),
    code_interpreter_file_ids: strings(r.code_interpreter?.file_ids),
  };
}

/** Vector stores named on `file_search` tools themselves (threadhook accepts them there too). */
export const toolStoreIds = (tools: readonly ToolDef[]) =>
  tools.flatMap((t) => (t.type === "file_search" ? (t.file_search?.vector_store_ids ?? []) : []));

/**
 * What a new run works on: the assistant's resources, its messages' attachments and URL
 * attachments, and the tools they need (attachments add `file_search` / `code_interpreter` when
 * the run lacks them). The thread's own resources join when the run starts (`withThreadResources`).
 */
export function runFilesFor(input: {
  assistantResources: unknown;
  messages: Pick<MessageRecord, "attachments" | "file_ids">[];
  urls: UrlAttachment[];
  tools: ToolDef[];
}): { toolResources: RunToolResources; files: RunFiles | null; tools: ToolDef[] } | undefined {
  const own = resourcesOf(input.assistantResources);
  // v1 `file_ids` on a message: for whichever hosted tools the run has.
  const v1Tools = (["file_search", "code_interpreter"] as const)
    .filter((t) => hasTool(input.tools, t))
    .map((type) => ({ type }));
  const attached = input.messages.flatMap((m) => [
    ...(m.attachments ?? []),
    ...(m.file_ids ?? []).map((file_id) => ({ file_id, tools: v1Tools })),
  ]);
  const by = (tool: string) =>
    attached.filter((a) => a.tools.some((t) => t.type === tool)).map((a) => a.file_id);
  const searchIds = unique(by("file_search"));
  const toolResources = {
    vector_store_ids: unique([...own.vector_store_ids, ...toolStoreIds(input.tools)]),
    code_interpreter_file_ids: unique([...own.code_interpreter_file_ids, ...by("code_interpreter")]),
  };
  const wants = (tool: "file_search" | "code_interpreter") =>
    (tool === "file_search" ? searchIds.length > 0 : by(tool).length > 0) ||
    input.urls.some((u) => u.tools.includes(tool));
  const tools = [...input.tools];
  for (const tool of ["file_search", "code_interpreter"] as const)
    if (wants(tool) && !hasTool(tools, tool)) tools.push({ type: tool } as ToolDef);
  const prep =
    input.urls.length > 0 || searchIds.length > 0
      ? { urls: input.urls, search_file_ids: searchIds, wait_store_ids: [], check_at_ms: null }
      : null;
  const none =
    !prep &&
    tools.length === input.tools.length &&
    toolResources.vector_store_ids.length === 0 &&
    toolResources.code_interpreter_file_ids.length === 0;
  return none
    ? undefined
    : { toolResources, files: prep ? { prep, collect: null, generated: [] } : null, tools };
}

const resources = (run: RunRecord): RunToolResources =>
  run.params.tool_resources ?? { vector_store_ids: [], code_interpreter_file_ids: [] };

function withResources(run: RunRecord, add: Partial<RunToolResources>, tool?: "file_search"): RunRecord {
  const r = resources(run);
  const tool_resources = {
    vector_store_ids: unique([...r.vector_store_ids, ...(add.vector_store_ids ?? [])]),
    code_interpreter_file_ids: unique([
      ...r.code_interpreter_file_ids,
      ...(add.code_interpreter_file_ids ?? []),
    ]),
  };
  const tools =
    tool && !hasTool(run.params.tools, tool)
      ? [...run.params.tools, { type: tool } as ToolDef]
      : run.params.tools;
  return { ...run, params: { ...run.params, tool_resources, tools } };
}

/**
 * The thread's resources join the run when it starts: its `tool_resources`, and the store that
 * holds its messages' file_search attachments (whose thread then searches with every run).
 */
export function withThreadResources(
  run: RunRecord,
  thread: { tool_resources?: unknown; files_store?: string | null },
): RunRecord {
  const own = resourcesOf(thread.tool_resources);
  const stores = [...own.vector_store_ids, ...(thread.files_store ? [thread.files_store] : [])];
  return withResources(
    run,
    { vector_store_ids: stores, code_interpreter_file_ids: own.code_interpreter_file_ids },
    thread.files_store ? "file_search" : undefined,
  );
}

/** Whether a thread adds anything to its runs' resources (see withThreadResources). */
export function threadHasResources(thread: {
  tool_resources?: unknown;
  files_store?: string | null;
}): boolean {
  const own = resourcesOf(thread.tool_resources);
  return (
    Boolean(thread.files_store) || own.vector_store_ids.length > 0 || own.code_interpreter_file_ids.length > 0
  );
}

/** The hosted-tool files work the run has next, if any (before `nextAction`'s upstream work). */
export function fileAction(
  run: RunRecord,
  now: number,
): FileAction | { type: "wait"; until_ms: number } | null {
  const files = run.files;
  if (files?.collect) return { type: "collect_files", containers: files.collect.containers };
  if (!files?.prep) return null;
  const at = files.prep.check_at_ms;
  if (at !== null && at > now) return { type: "wait", until_ms: Math.min(at, run.deadline_ms) };
  return { type: "prepare_files" };
}

function withPrep(run: RunRecord, prep: NonNullable<RunFiles["prep"]>): RunRecord {
  const done =
    prep.urls.every((u) => u.file_id !== null) &&
    prep.search_file_ids.length === 0 &&
    prep.wait_store_ids.length === 0;
  const files = run.files ?? { prep: null, collect: null, generated: [] };
  return { ...run, files: { ...files, prep: done ? null : prep } };
}

/** A URL attachment was fetched and uploaded as `fileId`: it goes where its tools say. */
export function attachmentReady(run: RunRecord, index: number, fileId: string): RunRecord {
  const prep = run.files?.prep;
  const url = prep?.urls[index];
  if (!prep || !url || url.file_id) return run;
  const urls = prep.urls.map((u, i) => (i === index ? { ...u, file_id: fileId } : u));
  const search = url.tools.includes("file_search") ? [...prep.search_file_ids, fileId] : prep.search_file_ids;
  const ci = url.tools.includes("code_interpreter") ? [fileId] : [];
  return withPrep(withResources(run, { code_interpreter_file_ids: ci }), {
    ...prep,
    urls,
    search_file_ids: search,
  });
}

/** The run's file_search attachments went into the thread's store: the run waits for their ingestion. */
export function searchFilesAdded(run: RunRecord, storeId: string): RunRecord {
  const prep = run.files?.prep;
  if (!prep) return run;
  const wait = unique([...prep.wait_store_ids, storeId]);
  return withPrep(withResources(run, { vector_store_ids: [storeId] }, "file_search"), {
    ...prep,
    search_file_ids: [],
    wait_store_ids: wait,
    check_at_ms: null,
  });
}

/** The stores were looked at: ready, or look again a little later. */
export function storesChecked(run: RunRecord, ready: boolean, now: number): RunRecord {
  const prep = run.files?.prep;
  if (!prep) return run;
  return withPrep(
    run,
    ready
      ? { ...prep, wait_store_ids: [], check_at_ms: null }
      : { ...prep, check_at_ms: now + STORE_CHECK_MS },
  );
}

/** A tool round's response used code interpreter containers: remember them for the end. */
export function noteContainers(run: RunRecord, containers: string[] | undefined): RunRecord {
  if (!containers?.length) return run;
  const files = run.files ?? { prep: null, collect: null, generated: [] };
  return { ...run, files: { ...files, containers: unique([...(files.containers ?? []), ...containers]) } };
}

/** The containers whose files a finished answer waits for: this response's and earlier rounds'. */
export const containersToCollect = (run: RunRecord, containers: string[] | undefined) =>
  unique([...(run.files?.containers ?? []), ...(containers ?? [])]);

/** A finished answer made in code interpreter containers: hold it while their files are copied out. */
export function startCollect(
  run: RunRecord,
  containers: string[],
  messageId: string | null,
  content: TextPart[],
): RunRecord {
  const files = run.files ?? { prep: null, collect: null, generated: [] };
  return {
    ...run,
    files: { ...files, collect: { containers: unique(containers), message_id: messageId, content } },
  };
}

/**
 * The copied files: recorded on the run, and the held answer with them — images first as
 * `image_file` parts, container citations as `file_path` annotations of the copies.
 */
export function collected(
  run: RunRecord,
  generated: GeneratedFile[],
): { run: RunRecord; parts: OutputPart[] } {
  const files = run.files ?? { prep: null, collect: null, generated: [] };
  const content = files.collect?.content ?? [];
  const byContainerFile = new Map(generated.map((f) => [f.container_file_id, f]));
  const text: TextPart[] = content.map((p) => ({
    ...p,
    text: {
      ...p.text,
      annotations: p.text.annotations.flatMap((a) => {
        if (!a.container_id) return [a];
        const { container_id: _inner, ...shown } = a;
        const copy = a.file_path ? byContainerFile.get(a.file_path.file_id) : undefined;
        return copy ? [{ ...shown, file_path: { file_id: copy.file_id } }] : [];
      }),
    },
  }));
  const images: OutputPart[] = generated
    .filter((f) => f.mime_type.startsWith("image/"))
    .map((f) => ({ type: "image_file", image_file: { file_id: f.file_id } }));
  return {
    run: { ...run, files: { ...files, collect: null, generated: [...files.generated, ...generated] } },
    parts: [...images, ...text],
  };
}
