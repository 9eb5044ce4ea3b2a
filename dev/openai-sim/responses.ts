// POST /v1/responses: validate like upstream, resolve the conversation or previous-response chain,
// plan the simulated model's output and start the response's timed life.
import { buildEvents, buildOutput } from "./events.ts";
import { newId, notFound, SimError } from "./http.ts";
import { checkToolPairs, type Item, itemText, normalizeInput } from "./items.ts";
import { responseObject, schedule } from "./lifecycle.ts";
import { makePlan, parseInput } from "./plan.ts";
import { tokens } from "./script.ts";
import { fitContext, truncationOf } from "./context-window.ts";
import { hostedTools, withHostedTools } from "./tools.ts";
import type { Conversation, FinalStatus, Plan, ResponseRecord, SimState, Usage } from "./state.ts";
import { validateCreate } from "./validate.ts";

/** How long a background response stays `queued` (before time scaling), at most half its delay. */
export const QUEUED_MS = 100;

export function createResponse(state: SimState, body: Record<string, unknown>): ResponseRecord {
  const params = { ...validateCreate(body, state.requireInput), truncation: truncationOf(body) };
  const input = body.input === undefined || body.input === null ? [] : normalizeInput(body.input);
  injectHttpError(state, input);
  const resolved = resolveContext(state, params.conversation, params.previous_response_id);
  const { conversation } = resolved;
  checkToolPairs(resolved.context, input);
  const context = fitContext(state, params, resolved.context, input);
  const hosted = hostedTools(state, params.tools ?? []);
  const planned = makePlan(input, context, {
    tools: params.tools ?? [],
    toolChoice: params.tool_choice,
    parallelToolCalls: params.parallel_tool_calls !== false,
    maxOutputTokens: params.max_output_tokens ?? null,
    defaultDelayMs: state.defaultDelayMs,
  });
  const plan = withHostedTools(state, planned, hosted, parseInput(input).echo);
  const record = newRecord(state, params, input, context, plan);
  if (conversation) conversation.activeResponseId = record.id;
  state.responses.set(record.id, record);
  state.stats.responsesCreated++;
  schedule(state, record);
  return record;
}

/** `http_error` scripts answer the next `times` creates with that status, counted per script text. */
function injectHttpError(state: SimState, input: Item[]): void {
  const { script, scriptText } = parseInput(input);
  const spec = script?.http_error;
  if (!spec || !scriptText) return;
  const served = state.httpErrorsServed.get(scriptText) ?? 0;
  if (served >= spec.times) return;
  state.httpErrorsServed.set(scriptText, served + 1);
  state.stats.httpErrorsInjected++;
  const headers: Record<string, string> = {};
  if (spec.retry_after_s !== undefined) headers["retry-after"] = String(spec.retry_after_s);
  throw httpError(spec.status, headers);
}

export function httpError(status: number, headers: Record<string, string>): SimError {
  if (status === 429) {
    return new SimError(429, "Rate limit reached for requests (simulated by a #sim http_error script).", {
      type: "requests",
      code: "rate_limit_exceeded",
      headers,
    });
  }
  if (status === 503) {
    return new SimError(503, "The engine is currently overloaded, please try again later.", {
      type: "server_error",
      headers,
    });
  }
  const message =
    status >= 500
      ? "The server had an error while processing your request. Sorry about that!"
      : `Simulated HTTP ${status} error.`;
  return new SimError(status, message, {
    type: status >= 500 ? "server_error" : "invalid_request_error",
    headers,
  });
}

function resolveContext(
  state: SimState,
  conversationId: string | undefined,
  previousId: string | undefined,
): { context: Item[]; conversation?: Conversation } {
  if (conversationId !== undefined) {
    const conversation = state.conversations.get(conversationId);
    if (!conversation) throw notFound("Conversation", conversationId, "conversation");
    if (conversation.activeResponseId) {
      state.stats.conversationLocked++;
      throw new SimError(
        400,
        "Another process is currently operating on this conversation. Please retry in a few seconds.",
        { param: "conversation", code: "conversation_locked" },
      );
    }
    return { context: [...conversation.items], conversation };
  }
  if (previousId === undefined) return { context: [] };
  if (!state.responses.has(previousId)) {
    throw new SimError(400, `Previous response with id '${previousId}' not found.`, {
      param: "previous_response_id",
      code: "previous_response_not_found",
    });
  }
  return { context: chainItems(state, previousId) };
}

/** Inputs and outputs of the previous-response chain, oldest first (outputs only of finished ones). */
function chainItems(state: SimState, responseId: string | null): Item[] {
  const chain: ResponseRecord[] = [];
  for (let id = responseId; id; ) {
    const record = state.responses.get(id);
    if (!record || chain.includes(record)) break;
    chain.unshift(record);
    id = record.previousResponseId;
  }
  return chain.flatMap((r) => {
    const finished = r.status === "completed" || r.status === "incomplete";
    return [...r.input, ...(finished ? r.output : [])];
  });
}

function newRecord(
  state: SimState,
  params: ReturnType<typeof validateCreate>,
  input: Item[],
  context: Item[],
  plan: Plan,
): ResponseRecord {
  const now = Date.now();
  const delay = plan.delayMs * state.timeScale;
  const background = params.background === true;
  const queued = background ? Math.min(QUEUED_MS * state.timeScale, delay / 2) : 0;
  const output = buildOutput(plan);
  const final: FinalStatus = plan.fail ? "failed" : plan.incomplete ? "incomplete" : "completed";
  const record: ResponseRecord = {
    id: newId("resp"),
    createdAtMs: now,
    inProgressAtMs: now + queued,
    terminalAtMs: now + delay,
    completedAtMs: null,
    status: background ? "queued" : "in_progress",
    final,
    background,
    stream: params.stream === true,
    params,
    conversationId: params.conversation ?? null,
    previousResponseId: params.previous_response_id ?? null,
    input,
    context,
    output,
    usage: usageOf(params.instructions, [...context, ...input], output),
    plan,
    events: [],
    listeners: new Set(),
  };
  record.events = buildEvents(record, plan, output, final, (status) => responseObject(record, status));
  return record;
}

function usageOf(instructions: unknown, consumed: Item[], produced: Item[]): Usage {
  const count = (items: Item[]): number => items.reduce((sum, item) => sum + tokens(itemText(item)), 0);
  const input = tokens(typeof instructions === "string" ? instructions : "") + count(consumed);
  const output = count(produced);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}
