/**
 * Threads and their messages (Assistants API): create, modify, delete, with the conversation kept in
 * step. Every command takes the caller's principal: a key scoped to assistants reaches only the
 * threads that belong to one of them (thread-access.ts) and gets 403 `thread_not_allowed` on any
 * other thread of its tenant, its conversation keys and messages included. Unscoped keys see every
 * thread of their tenant and pay no extra round trip.
 */
import { type MessageRecord, newMessage } from "../engine/messages";
import { ApiError, notFound, tooManyHeldMessages } from "../errors";
import { errorFields, log } from "../log";
import type { Principal } from "../security/principal";
import { newId } from "../store/ids";
import type { MessageStore } from "../store/messages";
import type { ListParams } from "../store/list";
import type { ThreadRecord, ThreadStore } from "../store/records";
import type { RunStore } from "../store/runs";
import type { Upstream } from "../upstream/openai";
import { UpstreamError } from "../upstream/openai";
import { checkFileRefs, resolveToolResources, type ToolResourcesInput } from "./file-refs";
import { activeRun, type NewMessage } from "./intake";
import { assertThreadAllowed, type ThreadAccessDeps, threadBelongs, threadNotAllowed } from "./thread-access";
import { ignore404, type VectorStoreDeps } from "./vector-stores";

export type { ThreadRecord };

export interface ThreadDeps extends Omit<VectorStoreDeps, "now"> {
  threads: Pick<
    ThreadStore,
    | "get"
    | "put"
    | "delete"
    | "belongsTo"
    | "assistantMarks"
    | "markAssistants"
    | "conversationThread"
    | "conversationMapping"
    | "forgetConversation"
  >;
  messages: Pick<MessageStore, "add" | "get" | "delete" | "sentBy" | "list" | "setMetadata">;
  runs: Pick<RunStore, "get" | "list">;
  upstream: Pick<Upstream, "inputItemIds" | "deleteItem" | "deleteConversation">;
  now: () => number;
}

type ThreadReader = ThreadAccessDeps & { threads: Pick<ThreadStore, "get"> };

/** The thread, if the key may use it: 404 when its tenant has none, 403 when it is not the key's. */
export async function loadThread(deps: ThreadReader, principal: Principal, threadId: string) {
  const scope = principal.assistantIds;
  const [thread, belongs] = await Promise.all([
    deps.threads.get(principal.tenant, threadId),
    scope ? threadBelongs(deps, principal.tenant, threadId, scope) : true,
  ]);
  if (!thread) throw notFound("thread", threadId, "thread_id");
  if (!belongs) throw threadNotAllowed(threadId);
  return thread;
}

/** A new thread; one a scoped key creates belongs to that key's assistants. */
export async function createThread(
  deps: ThreadDeps,
  principal: Principal,
  body: {
    messages?: NewMessage[];
    metadata?: Record<string, string> | null;
    tool_resources?: ToolResourcesInput | null;
  },
): Promise<ThreadRecord> {
  const { tenant } = principal;
  const now = deps.now();
  const id = newId("thread");
  await checkFileRefs(deps, tenant, { messages: body.messages ?? [], messagesParam: "messages" });
  const thread: ThreadRecord = {
    id,
    object: "thread",
    created_at: Math.floor(now / 1000),
    metadata: body.metadata ?? {},
    tool_resources: await resolveToolResources(deps, tenant, body.tool_resources, { thread_id: id }),
    conversation: null,
  };
  await deps.threads.put(tenant, thread, principal.assistantIds ?? []);
  if (body.messages?.length) await addMessages(deps, tenant, thread.id, body.messages);
  return thread;
}

/** Apply a modify request to a thread the caller loaded (loadThread) before reading the body. */
export async function modifyThread(
  deps: ThreadDeps,
  tenant: string,
  loaded: ThreadRecord & { conversation_id?: string | null; files_store?: string | null },
  body: {
    metadata?: Record<string, string> | null | undefined;
    tool_resources?: ToolResourcesInput | null | undefined;
  },
) {
  const { conversation_id: _upstream, files_store: store, ...current } = loaded;
  const next: ThreadRecord = {
    ...current,
    metadata: body.metadata === undefined ? current.metadata : (body.metadata ?? {}),
    tool_resources:
      body.tool_resources === undefined
        ? current.tool_resources
        : await resolveToolResources(deps, tenant, body.tool_resources, { thread_id: current.id }),
  };
  await deps.threads.put(tenant, next);
  return { ...next, files_store: store ?? null };
}

/** The thread a webhook-API conversation key maps to (404 when the key maps to none). */
export async function conversationThread(
  deps: Pick<ThreadDeps, "threads" | "runs" | "now">,
  principal: Principal,
  key: string,
) {
  const mapped = await deps.threads.conversationMapping(principal.tenant, key);
  if (!mapped) throw notFound("conversation", key, "conversation");
  const thread = await loadThread(deps, principal, mapped.threadId).catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) throw notFound("conversation", key, "conversation");
    throw err;
  });
  // The key slides: each message sent with it maps it for THREAD_TTL_S again (store/records.ts).
  return { thread, expiresAt: mapped.expiresAtS };
}

/** Forget a conversation key (its thread stays; the next message with the key starts a new one). */
export async function forgetConversation(
  deps: Pick<ThreadDeps, "threads" | "runs" | "now">,
  principal: Principal,
  key: string,
) {
  if (principal.assistantIds) await conversationThread(deps, principal, key);
  if (!(await deps.threads.forgetConversation(principal.tenant, key)))
    throw notFound("conversation", key, "conversation");
  return { id: key, object: "conversation.deleted" as const, deleted: true };
}

export async function listMessages(
  deps: Pick<ThreadDeps, "threads" | "messages" | "runs">,
  principal: Principal,
  threadId: string,
  params: ListParams & { runId?: string | undefined },
) {
  const thread = await loadThread(deps, principal, threadId);
  return deps.messages.list(principal.tenant, thread.id, params);
}

export async function getMessage(
  deps: Pick<ThreadDeps, "threads" | "messages" | "runs">,
  principal: Principal,
  threadId: string,
  messageId: string,
) {
  await assertThreadAllowed(deps, principal, threadId);
  const message = await deps.messages.get(principal.tenant, threadId, messageId);
  if (!message) throw notFound("message", messageId, "message_id");
  return message;
}

/** Set a message's metadata (`undefined`: leave it; `null`: clear it). */
export async function modifyMessage(
  deps: Pick<ThreadDeps, "threads" | "messages" | "runs">,
  principal: Principal,
  threadId: string,
  messageId: string,
  metadata: Record<string, string> | null | undefined,
) {
  const current = await getMessage(deps, principal, threadId, messageId);
  if (metadata === undefined) return current;
  const next = await deps.messages.setMetadata(principal.tenant, threadId, messageId, metadata ?? {});
  if (!next) throw notFound("message", messageId, "message_id");
  return next;
}

/** `POST /v1/threads/{id}/messages`: one message on an existing, idle thread. */
export async function addThreadMessage(
  deps: Pick<ThreadDeps, "threads" | "messages" | "runs" | "now" | "files" | "vectorStores">,
  principal: Principal,
  threadId: string,
  message: NewMessage,
): Promise<MessageRecord> {
  const thread = await loadThread(deps, principal, threadId);
  await checkFileRefs(deps, principal.tenant, { messages: [message] });
  const [added] = await addMessages(deps, principal.tenant, thread.id, [message]);
  return added as MessageRecord;
}

/** Add messages to an idle thread: they are the input of its next run. */
async function addMessages(
  deps: Pick<ThreadDeps, "messages" | "now">,
  tenant: string,
  threadId: string,
  messages: NewMessage[],
): Promise<MessageRecord[]> {
  const now = deps.now();
  const records = messages.map((m) => newMessage({ ...m, id: newId("msg"), threadId, nowMs: now }));
  const outcome = await deps.messages.add(tenant, threadId, records);
  if (outcome.kind === "missing") throw notFound("thread", threadId, "thread_id");
  if (outcome.kind === "busy") throw activeRun(threadId, outcome.activeRunId, "message");
  if (outcome.kind === "full") throw tooManyHeldMessages(threadId, outcome.max);
  return records;
}

export async function deleteThread(deps: ThreadDeps, principal: Principal, threadId: string) {
  const { tenant } = principal;
  const thread = await loadThread(deps, principal, threadId);
  const outcome = await deps.threads.delete(tenant, thread);
  if (outcome.kind === "missing") throw notFound("thread", threadId, "thread_id");
  if (outcome.kind === "busy")
    throw new ApiError(
      400,
      "thread_run_active",
      `Can't delete ${threadId} while a run ${outcome.activeRunId} is active.`,
      {
        param: "thread_id",
      },
    );
  if (outcome.conversationId) {
    await deps.upstream.deleteConversation(outcome.conversationId).catch((err: unknown) =>
      log("warn", "could not delete a deleted thread's conversation", {
        thread_id: threadId,
        ...errorFields(err),
      }),
    );
  }
  // The store made for the thread's attachments goes with it (as on the Assistants API).
  if (thread.files_store) await deleteFilesStore(deps, tenant, threadId, thread.files_store);
  return { id: threadId, object: "thread.deleted" as const, deleted: true };
}

/**
 * Delete a message, and its item in the thread's conversation when a run already carried it there
 * (so later runs do not see it): an answer's message id is its item id; a user message is found at
 * its position in the input of the response that carried it.
 */
export async function deleteMessage(
  deps: ThreadDeps,
  principal: Principal,
  threadId: string,
  messageId: string,
) {
  const { tenant } = principal;
  const thread = await loadThread(deps, principal, threadId);
  const message = await deps.messages.get(tenant, threadId, messageId);
  if (!message) throw notFound("message", messageId, "message_id");
  const itemId = await upstreamItemId(deps, tenant, threadId, message);
  if (itemId && thread.conversation_id) {
    await deps.upstream.deleteItem(thread.conversation_id, itemId).catch((err: unknown) => {
      if (err instanceof UpstreamError && err.status === 404) return; // already gone upstream
      throw err;
    });
  }
  if ((await deps.messages.delete(tenant, threadId, messageId)).kind === "missing")
    throw notFound("message", messageId, "message_id");
  return { id: messageId, object: "thread.message.deleted" as const, deleted: true };
}

async function upstreamItemId(
  deps: ThreadDeps,
  tenant: string,
  threadId: string,
  message: MessageRecord,
): Promise<string | null> {
  if (message.role === "assistant" && message.run_id) return message.id;
  const sent = await deps.messages.sentBy(tenant, threadId, message.id);
  if (!sent) return null;
  const responseId = (await deps.runs.get(tenant, sent.runId))?.run.upstream.response_ids[0];
  if (!responseId) return null;
  return (await deps.upstream.inputItemIds(responseId))[sent.index] ?? null;
}

async function deleteFilesStore(deps: ThreadDeps, tenant: string, threadId: string, storeId: string) {
  try {
    await deps.openaiFiles.deleteStore(storeId).catch(ignore404);
    await deps.vectorStores.delete(tenant, storeId);
  } catch (err) {
    log("warn", "could not delete a deleted thread's attachment store", {
      thread_id: threadId,
      ...errorFields(err),
    });
  }
}
