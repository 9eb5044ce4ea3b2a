// Dead-letter queue API: list/get/delete/retry, filtered the way the SDK's query parameters ask.
import type { Engine } from "./engine.ts";
import type { DlqEntry } from "./engine.ts";
import { error, multiValued, type Reply } from "./http.ts";
import { messageView, newMessageId } from "./message.ts";

export function dlqView(entry: DlqEntry): Record<string, unknown> {
  const { response } = entry;
  const text = response.body.toString("utf8");
  const isUtf8 = Buffer.from(text, "utf8").equals(response.body);
  return {
    ...messageView(entry.message),
    dlqId: entry.dlqId,
    retried: entry.message.retried,
    responseStatus: response.status,
    responseHeader: multiValued(response.headers),
    ...(isUtf8 ? { responseBody: text } : { responseBodyBase64: response.body.toString("base64") }),
    ...(response.error === undefined ? {} : { error: response.error }),
  };
}

/** Entries matching the query filters, then one page of `count` starting at the numeric `cursor`. */
function select(engine: Engine, query: URLSearchParams, maxCount: number) {
  const ids = query.getAll("dlqIds");
  const fields: Array<[string, (entry: DlqEntry) => string | undefined]> = [
    ["messageId", (e) => e.message.messageId],
    ["url", (e) => e.message.url],
    ["queueName", (e) => e.message.queueName],
    ["responseStatus", (e) => String(e.response.status)],
    ["callerIp", (e) => e.message.callerIP],
  ];
  const from = Number(query.get("fromDate") ?? 0);
  const to = Number(query.get("toDate") ?? Number.POSITIVE_INFINITY);
  const label = query.get("label");
  let matches = [...engine.state.dlq.values()].filter(
    (entry) =>
      (ids.length === 0 || ids.includes(entry.dlqId)) &&
      fields.every(([key, get]) => !query.has(key) || query.getAll(key).includes(get(entry) ?? "")) &&
      entry.movedAt >= from &&
      entry.movedAt <= to &&
      (label === null || (entry.message.labels ?? []).includes(label)),
  );
  if (query.get("order") === "latestFirst") matches = matches.reverse();
  const start = Number(query.get("cursor") || 0);
  const count = Math.min(Number(query.get("count") || maxCount), maxCount);
  const page = matches.slice(start, start + count);
  const next = start + count < matches.length ? String(start + count) : undefined;
  return { page, next };
}

export function dlqRoute(engine: Engine, method: string, rest: string[], query: URLSearchParams): Reply {
  const { dlq } = engine.state;
  const [first, second] = rest;
  if (method === "GET" && first === undefined) {
    const { page, next } = select(engine, query, 100);
    return { status: 200, body: { messages: page.map(dlqView), ...(next ? { cursor: next } : {}) } };
  }
  if (method === "DELETE" && first === undefined) {
    const { page, next } = select(engine, query, 100);
    for (const entry of page) dlq.delete(entry.dlqId);
    // Deleting shifts the remaining entries down, so the next page starts where this one did.
    return {
      status: 200,
      body: { deleted: page.length, ...(next ? { cursor: query.get("cursor") || "0" } : {}) },
    };
  }
  if (method === "POST" && first === "retry") {
    if (second !== undefined) {
      const entry = dlq.get(second);
      return entry ? { status: 201, body: { messageId: retry(engine, entry) } } : notFound(second);
    }
    const { page, next } = select(engine, query, 100);
    const responses = page.map((entry) => ({ messageId: retry(engine, entry) }));
    return { status: 200, body: { cursor: next ? query.get("cursor") || "0" : "", responses } };
  }
  const entry = first === undefined ? undefined : dlq.get(first);
  if (!entry || second !== undefined) return notFound(first ?? "");
  if (method === "GET") return { status: 200, body: dlqView(entry) };
  if (method === "DELETE") {
    dlq.delete(entry.dlqId);
    return { status: 200, body: { deleted: 1 } };
  }
  return error(405, "method not allowed");
}

/** Republishes a dead letter as a new message (same destination, body and settings) and drops the entry. */
function retry(engine: Engine, entry: DlqEntry): string {
  engine.state.dlq.delete(entry.dlqId);
  const now = Date.now();
  const copy = { ...entry.message, messageId: newMessageId(), retried: 0, createdAt: now, notBefore: now };
  delete copy.dedupKey;
  return engine.publish(copy, 0).messageId;
}

const notFound = (id: string): Reply => error(404, `dlq message ${id} not found`);
