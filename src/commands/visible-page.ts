/**
 * One list page of the items a key may see, out of a list that also holds items it may not (a
 * thread's runs of other assistants, a tenant's other assistants). The underlying list is read in
 * batches until the page is full and one more visible item proves `has_more`, so `first_id`,
 * `last_id` and `has_more` describe the visible items only — a hidden item's id never shows — and
 * following the cursors reaches every visible item.
 */
import type { ListPage, ListParams } from "../store/list";

/** Items read from the underlying list per round trip. */
const BATCH = 100;

export async function visiblePage<T extends { id: string }>(
  list: (params: ListParams) => Promise<ListPage<T>>,
  visible: (item: T) => boolean,
  params: ListParams,
): Promise<ListPage<T>> {
  const backward = params.before !== undefined && params.after === undefined;
  let cursor = backward ? params.before : params.after;
  let found: T[] = [];
  for (;;) {
    const page = await list({
      limit: BATCH,
      order: params.order,
      ...(cursor === undefined ? {} : backward ? { before: cursor } : { after: cursor }),
    });
    const mine = page.data.filter(visible);
    found = backward ? [...mine, ...found] : [...found, ...mine];
    const next = backward ? page.first_id : page.last_id;
    if (found.length > params.limit || !page.has_more || next === null) break;
    cursor = next;
  }
  const data = backward ? found.slice(-params.limit) : found.slice(0, params.limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: found.length > params.limit,
  };
}
