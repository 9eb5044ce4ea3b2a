/** How the API shows stored objects that the engine does not present (engine/present.ts has runs). */
import type { ThreadRecord } from "../commands/threads";

/**
 * A thread as the API shows it: the upstream conversation id stays inside threadhook; the vector
 * store made for its messages' file_search attachments shows in its `tool_resources`, as it did on
 * the Assistants API.
 */
export const presentThread = <
  T extends ThreadRecord & { conversation_id?: string | null; files_store?: string | null },
>(
  t: T,
): ThreadRecord => {
  const { conversation_id: _hidden, files_store: store, ...rest } = t;
  return store ? { ...rest, tool_resources: withStore(rest.tool_resources, store) } : rest;
};

function withStore(resources: Record<string, unknown>, store: string): Record<string, unknown> {
  const search = (resources.file_search ?? {}) as { vector_store_ids?: string[] };
  const ids = search.vector_store_ids ?? [];
  return {
    ...resources,
    file_search: { ...search, vector_store_ids: ids.includes(store) ? ids : [...ids, store] },
  };
}
