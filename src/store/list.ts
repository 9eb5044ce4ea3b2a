/**
 * Cursor pagination in the Assistants style over a sorted-set index (score = creation time in ms):
 * `limit`, `order` (asc|desc), `after`/`before` object ids → `{ data, first_id, last_id, has_more }`.
 */
import type { Redis } from "./redis";

export interface ListParams {
  limit: number;
  order: "asc" | "desc";
  after?: string | undefined;
  before?: string | undefined;
}

export interface ListPage<T> {
  object: "list";
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** Ids of one page, in the requested order. */
export async function pageIds(
  redis: Redis,
  index: string,
  p: ListParams,
): Promise<{ ids: string[]; hasMore: boolean }> {
  const rev = p.order === "desc";
  const rankOf = (id: string) => (rev ? redis.zrevrank(index, id) : redis.zrank(index, id));
  let start = 0;
  let stop = p.limit; // one extra to learn has_more
  if (p.after) {
    const r = await rankOf(p.after);
    if (r === null) return { ids: [], hasMore: false };
    start = r + 1;
    stop = start + p.limit;
  } else if (p.before) {
    const r = await rankOf(p.before);
    if (r === null || r === 0) return { ids: [], hasMore: false };
    start = Math.max(0, r - p.limit);
    const ids = await range(redis, index, start, r - 1, rev);
    return { ids, hasMore: start > 0 };
  }
  const ids = await range(redis, index, start, stop, rev);
  return { ids: ids.slice(0, p.limit), hasMore: ids.length > p.limit };
}

const range = (redis: Redis, index: string, start: number, stop: number, rev: boolean) =>
  redis.zrange<string[]>(index, start, stop, rev ? { rev: true } : undefined);

export function toPage<T extends { id: string }>(data: T[], hasMore: boolean): ListPage<T> {
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}

/** The same pagination over an in-memory list ordered oldest first. */
export function pageOf<T extends { id: string }>(items: T[], q: ListParams): ListPage<T> {
  const ordered = q.order === "desc" ? [...items].reverse() : items;
  let start = 0;
  let end = ordered.length;
  if (q.after) start = ordered.findIndex((i) => i.id === q.after) + 1;
  if (q.before)
    end = Math.max(
      0,
      ordered.findIndex((i) => i.id === q.before),
    );
  if (q.before && !q.after) {
    const window = ordered.slice(Math.max(start, end - q.limit), end);
    const first = window[0];
    return toPage(window, first ? ordered.indexOf(first) > start : false);
  }
  const window = ordered.slice(start, end).slice(0, q.limit);
  return toPage(window, start + window.length < end);
}
