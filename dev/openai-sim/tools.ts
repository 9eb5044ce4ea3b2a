// The hosted tools of a response: file_search over vector stores (automatic, deterministic) and a
// scripted code interpreter writing files into a container (README "Hosted tools").
import { createContainer, findContainer, writeFile } from "./containers.ts";
import { extensionOf, hexId } from "./files-state.ts";
import { invalidParam, missingParam, SimError } from "./http.ts";
import type { Item } from "./items.ts";
import type { Plan, SimState } from "./state.ts";
import { searchableFiles } from "./vector-stores.ts";

export type HostedTools = {
  /** The file_search tool's stores, or null without that tool. */
  stores: string[] | null;
  /** The code interpreter's container: an existing id, or files for a new (`auto`) one. */
  container: { id: string } | { fileIds: string[] } | null;
};

/** Checks the hosted tools' resources exist, as upstream does before it starts a response. */
export function hostedTools(state: SimState, tools: Record<string, unknown>[]): HostedTools {
  const found: HostedTools = { stores: null, container: null };
  tools.forEach((tool, i) => {
    if (tool.type === "file_search") found.stores = storeIds(state, tool, i);
    if (tool.type === "code_interpreter") found.container = containerSpec(state, tool.container, i);
  });
  return found;
}

function storeIds(state: SimState, tool: Record<string, unknown>, i: number): string[] {
  const ids = tool.vector_store_ids;
  if (ids === undefined) throw missingParam(`tools[${i}].vector_store_ids`);
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== "string"))
    throw invalidParam(`tools[${i}].vector_store_ids`, "expected an array of strings.", "invalid_type");
  for (const id of ids as string[]) {
    if (!state.vectorStores.has(id))
      throw new SimError(404, `Vector store with id '${id}' not found.`, {
        param: `tools[${i}].vector_store_ids`,
      });
  }
  return ids as string[];
}

function containerSpec(state: SimState, value: unknown, i: number): HostedTools["container"] {
  if (value === undefined || value === null) throw missingParam(`tools[${i}].container`);
  if (typeof value === "string") return { id: findContainer(state, value).id };
  const spec = value as { type?: unknown; file_ids?: unknown };
  if (spec.type !== "auto") throw invalidParam(`tools[${i}].container.type`, "expected 'auto'.");
  const fileIds = Array.isArray(spec.file_ids) ? spec.file_ids.map(String) : [];
  for (const id of fileIds) {
    if (!state.files.has(id))
      throw new SimError(404, `No such File object: ${id}`, { param: `tools[${i}].container.file_ids` });
  }
  return { fileIds };
}

/** A 1×1 PNG: what the simulated code interpreter "draws". */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);
const IMAGE = new Set(["png", "jpg", "jpeg", "gif", "webp"]);

/**
 * The plan with the hosted tools' work in it: a scripted code interpreter run (`code_interpreter`
 * key) or, for a plain question, a file_search hit. Scripted failures and function calls win.
 */
export function withHostedTools(state: SimState, plan: Plan, tools: HostedTools, question: string): Plan {
  if (plan.fail || plan.incomplete || plan.toolCalls.length > 0) return plan;
  const ci = plan.script?.code_interpreter;
  if (ci && tools.container) return codeInterpreter(state, plan, tools.container, ci.files);
  if (tools.stores && tools.stores.length > 0 && plan.script?.reply === undefined)
    return fileSearch(state, plan, tools.stores, question);
  return plan;
}

function codeInterpreter(
  state: SimState,
  plan: Plan,
  spec: NonNullable<HostedTools["container"]>,
  names: string[],
): Plan {
  const container =
    "id" in spec ? findContainer(state, spec.id) : createContainer(state, "auto", spec.fileIds);
  const inputs = [...container.files.values()].filter((f) => f.source === "user");
  const written = names.map((name) =>
    writeFile(
      container,
      name,
      "assistant",
      contentFor(
        name,
        inputs.map((f) => [f.path, f.content.length]),
      ),
    ),
  );
  let text = "Done.";
  const citations: Record<string, unknown>[] = [];
  for (const file of written) {
    const link = `sandbox:${file.path}`;
    text += ` [${file.path.slice("/mnt/data/".length)}](`;
    citations.push({
      type: "container_file_citation",
      container_id: container.id,
      file_id: file.id,
      filename: file.path.slice("/mnt/data/".length),
      start_index: text.length,
      end_index: text.length + link.length,
    });
    text += `${link})`;
  }
  const call: Item = {
    id: hexId("ci", 24),
    type: "code_interpreter_call",
    status: "completed",
    container_id: container.id,
    code: `# openai-sim: writes ${names.join(", ") || "nothing"}`,
    outputs: null,
  };
  return { ...plan, text, toolItems: [call], citations };
}

function contentFor(name: string, inputs: [string, number][]): Buffer {
  const ext = extensionOf(name);
  if (IMAGE.has(ext)) return PNG;
  if (ext === "csv") return Buffer.from(`file,bytes\n${inputs.map(([p, n]) => `${p},${n}`).join("\n")}\n`);
  return Buffer.from(`written by the openai-sim code interpreter: ${name}\n`);
}

/**
 * Deterministic file_search: the longest word of the question (4+ letters; the first of equals)
 * that occurs in a completed file of the stores answers with the sentence it occurs in, cited.
 */
function fileSearch(state: SimState, plan: Plan, stores: string[], question: string): Plan {
  const files = searchableFiles(state, stores);
  const words = [...new Set(question.toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? [])].sort(
    (a, b) => b.length - a.length,
  );
  if (words.length === 0) return plan;
  const call: Item = {
    id: hexId("fs", 24),
    type: "file_search_call",
    status: "completed",
    queries: [question],
    results: null,
  };
  for (const word of words) {
    const pattern = new RegExp(`(^|[^\\p{L}\\p{N}])${word}($|[^\\p{L}\\p{N}])`, "iu");
    const hit = files.find((f) => pattern.test(f.text));
    if (!hit) continue;
    const sentence =
      hit.text.split(/(?<=[.!?])\s+|\n+/).find((s) => pattern.test(s)) ?? hit.text.slice(0, 200);
    const text = `According to ${hit.filename}: "${sentence.trim().slice(0, 300)}"`;
    const citation = { type: "file_citation", file_id: hit.id, filename: hit.filename, index: text.length };
    return { ...plan, text, toolItems: [call], citations: [citation] };
  }
  return { ...plan, toolItems: [call] };
}
