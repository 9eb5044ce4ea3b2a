// The /v1 route table: Responses and Conversations endpoints.
import {
  addItems,
  conversationObject,
  createConversation,
  deleteConversation,
  deleteItem,
  findItem,
  getConversation,
  paginate,
  updateConversation,
} from "./conversations.ts";
import { sleep } from "../faults.ts";
import { notFound, SimError } from "./http.ts";
import { FILE_ROUTES } from "./file-routes.ts";
import { cancel, remove, responseObject } from "./lifecycle.ts";
import { ID, json, type Route, type RouteContext, route } from "./route-kit.ts";
import { createResponse } from "./responses.ts";
import type { ResponseRecord } from "./state.ts";
import { streamEvents, waitTerminal } from "./stream.ts";

function findResponse(ctx: RouteContext): ResponseRecord {
  const id = ctx.params[0] ?? "";
  const record = ctx.state.responses.get(id);
  if (!record) throw notFound("Response", id);
  return record;
}

async function create(ctx: RouteContext): Promise<void> {
  const record = createResponse(ctx.state, ctx.body());
  record.via = ctx.via;
  // Fault switch: the response exists and runs, but the caller never hears of it.
  const drop = ctx.state.faults.take("drop_after_create", "POST /v1/responses");
  if (drop) {
    record.answerDropped = true;
    await sleep(drop.afterMs ?? 0);
    ctx.res.destroy();
    return;
  }
  if (record.stream) return streamEvents(ctx.state, record, -1, ctx.res);
  if (record.background) return json(ctx, responseObject(record));
  // A synchronous create answers once the model is done, as upstream.
  if (await waitTerminal(ctx.state, record)) json(ctx, responseObject(record));
  else ctx.res.destroy();
}

async function retrieve(ctx: RouteContext): Promise<void> {
  const record = findResponse(ctx);
  if (ctx.query.get("stream") !== "true") return json(ctx, responseObject(record));
  if (!record.background) {
    throw new SimError(400, "Only responses created with background=true can be streamed with GET.", {
      param: "stream",
    });
  }
  const after = Number(ctx.query.get("starting_after") ?? -1);
  if (!Number.isInteger(after)) {
    throw new SimError(400, "Invalid 'starting_after': expected an integer.", { param: "starting_after" });
  }
  return streamEvents(ctx.state, record, after, ctx.res);
}

const RESPONSE_ROUTES: Route[] = [
  route("POST", "/responses", create),
  route("GET", `/responses/${ID}`, retrieve),
  route("DELETE", `/responses/${ID}`, (ctx) => {
    const record = findResponse(ctx);
    remove(ctx.state, record);
    json(ctx, { id: record.id, object: "response.deleted", deleted: true });
  }),
  route("POST", `/responses/${ID}/cancel`, (ctx) => json(ctx, cancel(ctx.state, findResponse(ctx)))),
  route("GET", `/responses/${ID}/input_items`, (ctx) =>
    json(ctx, paginate(findResponse(ctx).input, ctx.query)),
  ),
  route("POST", "/conversations", (ctx) =>
    json(ctx, conversationObject(createConversation(ctx.state, ctx.body()))),
  ),
  route("GET", `/conversations/${ID}`, (ctx) =>
    json(ctx, conversationObject(getConversation(ctx.state, ctx.params[0] ?? ""))),
  ),
  route("POST", `/conversations/${ID}`, (ctx) =>
    json(ctx, conversationObject(updateConversation(ctx.state, ctx.params[0] ?? "", ctx.body()))),
  ),
  route("DELETE", `/conversations/${ID}`, (ctx) =>
    json(ctx, deleteConversation(ctx.state, ctx.params[0] ?? "")),
  ),
  route("POST", `/conversations/${ID}/items`, (ctx) =>
    json(ctx, addItems(ctx.state, ctx.params[0] ?? "", ctx.body())),
  ),
  route("GET", `/conversations/${ID}/items`, (ctx) =>
    json(ctx, paginate(getConversation(ctx.state, ctx.params[0] ?? "").items, ctx.query)),
  ),
  route("GET", `/conversations/${ID}/items/${ID}`, (ctx) =>
    json(ctx, findItem(ctx.state, ctx.params[0] ?? "", ctx.params[1] ?? "")),
  ),
  route("DELETE", `/conversations/${ID}/items/${ID}`, (ctx) =>
    json(ctx, deleteItem(ctx.state, ctx.params[0] ?? "", ctx.params[1] ?? "")),
  ),
];

export const ROUTES: Route[] = [...RESPONSE_ROUTES, ...FILE_ROUTES];

/** `GET /__sim/responses/{id}`: the exact timeline, for tests and benchmarks. */
export function simResponseInfo(record: ResponseRecord): Record<string, unknown> {
  return {
    id: record.id,
    status: record.status,
    background: record.background,
    stream: record.stream,
    conversation_id: record.conversationId,
    previous_response_id: record.previousResponseId,
    created_at_ms: record.createdAtMs,
    /** Who sent the create: QStash's `call` or the Worker itself (`direct`). */
    via: record.via ?? "direct",
    /** The create's answer was dropped (`drop_after_create`): its sender never heard of it. */
    answer_dropped: record.answerDropped === true,
    in_progress_at_ms: record.inProgressAtMs,
    planned_terminal_at_ms: record.terminalAtMs,
    completed_at_ms: record.completedAtMs,
    delay_ms: record.plan.delayMs,
    events: record.events.length,
    script: record.plan.script,
    metadata: record.params.metadata ?? {},
    input: record.input,
    /** The function calls the response made (their call ids), for tracing a call left open. */
    output_call_ids: record.output.flatMap((i) =>
      i.type === "function_call" && typeof i.call_id === "string" ? [i.call_id] : [],
    ),
    tools: record.params.tools ?? [],
    usage: record.usage,
  };
}
