// /v1/conversations and their items, plus the cursor pagination shared with input_items.
import { invalidParam, missingParam, newId, notFound, nowSeconds, SimError } from "./http.ts";
import { type Item, normalizeInput } from "./items.ts";
import type { Conversation, SimState } from "./state.ts";
import { validateMetadata } from "./validate.ts";

const MAX_ITEMS_PER_CALL = 20;

export const conversationObject = (c: Conversation): Record<string, unknown> => ({
  id: c.id,
  object: "conversation",
  created_at: c.createdAt,
  metadata: c.metadata,
});

export function getConversation(state: SimState, id: string): Conversation {
  const conversation = state.conversations.get(id);
  if (!conversation) throw notFound("Conversation", id);
  return conversation;
}

export function createConversation(state: SimState, body: Record<string, unknown>): Conversation {
  const metadata = validateMetadata(body.metadata, "metadata") ?? {};
  const items = body.items === undefined || body.items === null ? [] : itemsOf(body.items);
  const conversation: Conversation = {
    id: newId("conv"),
    createdAt: nowSeconds(),
    metadata,
    items,
    activeResponseId: null,
  };
  state.conversations.set(conversation.id, conversation);
  state.stats.conversationsCreated++;
  return conversation;
}

export function updateConversation(state: SimState, id: string, body: Record<string, unknown>): Conversation {
  const conversation = getConversation(state, id);
  if (body.metadata === undefined) throw missingParam("metadata");
  conversation.metadata = validateMetadata(body.metadata, "metadata") ?? {};
  return conversation;
}

export function deleteConversation(state: SimState, id: string): Record<string, unknown> {
  getConversation(state, id);
  state.conversations.delete(id);
  return { id, object: "conversation.deleted", deleted: true };
}

export function addItems(
  state: SimState,
  id: string,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const conversation = getConversation(state, id);
  if (body.items === undefined || body.items === null) throw missingParam("items");
  const items = itemsOf(body.items);
  conversation.items.push(...items);
  return {
    object: "list",
    data: items,
    first_id: items[0]?.id ?? null,
    last_id: items.at(-1)?.id ?? null,
    has_more: false,
  };
}

export function findItem(state: SimState, conversationId: string, itemId: string): Item {
  const item = getConversation(state, conversationId).items.find((i) => i.id === itemId);
  if (!item) throw notFound("Item", itemId);
  return item;
}

export function deleteItem(state: SimState, conversationId: string, itemId: string): Record<string, unknown> {
  const conversation = getConversation(state, conversationId);
  const index = conversation.items.findIndex((i) => i.id === itemId);
  if (index < 0) throw notFound("Item", itemId);
  conversation.items.splice(index, 1);
  return conversationObject(conversation);
}

function itemsOf(value: unknown): Item[] {
  if (Array.isArray(value) && value.length > MAX_ITEMS_PER_CALL) {
    throw invalidParam(
      "items",
      `array too long. Expected an array with maximum length ${MAX_ITEMS_PER_CALL}, but got an array with length ${value.length} instead.`,
      "array_above_max_length",
    );
  }
  if (!Array.isArray(value)) {
    throw new SimError(400, "Invalid type for 'items': expected an array.", {
      param: "items",
      code: "invalid_type",
    });
  }
  return normalizeInput(value, "items");
}

/** `limit` (1–100, default 20), `order` (asc|desc, default desc), `after` (an item id). */
export function paginate(items: Item[], query: URLSearchParams): Record<string, unknown> {
  const limit = Number(query.get("limit") ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw invalidParam(
      "limit",
      `expected an integer between 1 and 100, but got ${query.get("limit")} instead.`,
    );
  }
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") {
    throw invalidParam("order", `expected one of 'asc' or 'desc', but got '${order}' instead.`);
  }
  const ordered = order === "asc" ? items : [...items].reverse();
  const after = query.get("after");
  let start = 0;
  if (after) {
    const index = ordered.findIndex((item) => item.id === after);
    if (index < 0) throw notFound("Item", after, "after");
    start = index + 1;
  }
  const data = ordered.slice(start, start + limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < ordered.length,
  };
}
