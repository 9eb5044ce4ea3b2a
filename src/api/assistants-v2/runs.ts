/**
 * Runs of a thread (Assistants v2): create (also with a new thread), list, retrieve, modify,
 * cancel, submit tool outputs, run steps; `stream: true` answers Server-Sent Events. The same
 * engine and records as the webhook API; runs here are exclusive per thread, as the original was.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { callbackFor } from "../../commands/callback";
import { resolveToolResources } from "../../commands/file-refs";
import { acceptRun, type IntakeRequest, type NewMessage, type ThreadTarget } from "../../commands/intake";
import {
  cancelRun,
  listRunSteps,
  listThreadRuns,
  loadRunFor,
  setRunMetadata,
  submitToolOutputs,
} from "../../commands/runs";
import { assertRunTargetAllowed } from "../../commands/thread-access";
import { checkModel } from "../../commands/models";
import { checkTools } from "../../commands/tools";
import type { Config } from "../../config";
import { presentAssistantsRun, presentStep } from "../../engine/present";
import { alreadyEmitted, type StreamEvent } from "../../engine/stream-events";
import { ApiError, notFound } from "../../errors";
import { isOnBusy, ON_BUSY_HEADER, type OnBusy, onBusyMessage } from "../../engine/busy";
import type { AuthedEnv } from "../../security/auth";
import { presentThread } from "../present";
import { ListQuery, SubmitToolOutputs } from "../schemas";
import { idempotencyOf, parse, parseBody, parseJsonText, parseQuery } from "../validate";
import { runStream } from "./run-stream";
import { CreateRun, type CreateRunBody, CreateThreadAndRun, ModifyMetadata } from "./schemas";

/** How often the SDK's pollers (`createAndPoll`, `poll`) should ask: they default to 5 s otherwise. */
const POLL_AFTER_MS = 500;

type C = Context<AuthedEnv>;

/** The run named in the path, which must belong to the thread named in the path. */
const runOf = (c: C) => {
  const { thread, run } = c.req.param() as { thread: string; run: string };
  return loadRunFor(c.var.deps, c.var.principal, run, { threadId: thread });
};
const scopeOf = (c: C) => ({ threadId: c.req.param("thread") ?? "" });

export const runs = new Hono<AuthedEnv>()
  .post("/runs", async (c) => {
    const text = await c.req.text();
    const body = parse(CreateThreadAndRun, parseJsonText(text));
    const resources = body.thread?.tool_resources ?? body.tool_resources;
    const target: ThreadTarget = {
      kind: "new",
      metadata: body.thread?.metadata ?? undefined,
      toolResources: resources
        ? await resolveToolResources(c.var.deps, c.var.tenant, resources, null)
        : undefined,
    };
    return createRun(c, body, target, body.thread?.messages ?? [], text);
  })
  .post("/:thread/runs", async (c) => {
    const text = await c.req.text();
    const body = parse(CreateRun, parseJsonText(text));
    const target: ThreadTarget = { kind: "id", threadId: c.req.param("thread") };
    return createRun(c, body, target, body.additional_messages ?? [], text);
  })
  .get("/:thread/runs", async (c) => {
    const q = parseQuery(c, ListQuery);
    const page = await listThreadRuns(c.var.deps, c.var.principal, c.req.param("thread"), q);
    return c.json({ ...page, data: page.data.map(presentAssistantsRun) });
  })
  .get("/:thread/runs/:run", async (c) => {
    const { run } = await runOf(c);
    return c.json(presentAssistantsRun(run), 200, { "openai-poll-after-ms": String(POLL_AFTER_MS) });
  })
  .post("/:thread/runs/:run", async (c) => {
    const { run } = await runOf(c);
    const body = await parseBody(c, ModifyMetadata);
    return c.json(presentAssistantsRun(await setRunMetadata(c.var.deps, run, body.metadata)));
  })
  .post("/:thread/runs/:run/cancel", async (c) =>
    c.json(
      presentAssistantsRun(await cancelRun(c.var.deps, c.var.principal, c.req.param("run"), scopeOf(c))),
    ),
  )
  .post("/:thread/runs/:run/submit_tool_outputs", async (c) => {
    const { deps, principal } = c.var;
    const body = await parseBody(c, SubmitToolOutputs);
    const next = await submitToolOutputs(deps, principal, c.req.param("run"), body.tool_outputs, scopeOf(c));
    if (!body.stream) return c.json(presentAssistantsRun(next));
    return runStream(c, deps, next, { first: [], emitted: alreadyEmitted(next) });
  })
  .get("/:thread/runs/:run/steps", async (c) => {
    const q = parseQuery(c, ListQuery);
    const { run } = await runOf(c);
    return c.json(listRunSteps(run, q));
  })
  .get("/:thread/runs/:run/steps/:step", async (c) => {
    const { run } = await runOf(c);
    const step = run.steps.find((s) => s.id === c.req.param("step"));
    if (!step) throw notFound("run step", c.req.param("step"), "step_id");
    return c.json(presentStep(run, step));
  });

async function createRun(
  c: C,
  body: CreateRunBody,
  thread: ThreadTarget,
  messages: NewMessage[],
  text: string,
) {
  const { deps, principal } = c.var;
  if (thread.kind === "id") await assertRunTargetAllowed(deps, principal, thread);
  const callbackUrl = body.callback_url ?? body.metadata?.callback_url;
  const callback = callbackUrl
    ? await callbackFor(deps, principal.tenant, callbackUrl, body.callback_headers)
    : null;
  const accepted = await acceptRun(deps, {
    ...intakeRequest(deps.config, body, { thread, messages, callback }),
    onBusy: body.on_busy ?? onBusyHeader(c),
    tenant: principal.tenant,
    idempotency: await idempotencyOf(c, text),
    allowedAssistants: principal.assistantIds,
  });
  const headers: Record<string, string> = accepted.replayed ? { "idempotent-replayed": "true" } : {};
  if (!body.stream) return c.json(presentAssistantsRun(accepted.run), 200, headers);
  const first: StreamEvent[] = [
    ...(accepted.thread ? [{ event: "thread.created", data: presentThread(accepted.thread) }] : []),
    { event: "thread.run.created", data: presentAssistantsRun(accepted.run) },
  ];
  return runStream(c, deps, accepted.run, { first, emitted: new Set() });
}

/** The busy-thread policy an Assistants client asks for with the `threadhook-on-busy` header, if any. */
function onBusyHeader(c: C): OnBusy | undefined {
  const header = c.req.header(ON_BUSY_HEADER)?.trim();
  if (header === undefined || header === "") return undefined;
  if (!isOnBusy(header))
    throw new ApiError(400, "invalid_value", `Invalid '${ON_BUSY_HEADER}': ${onBusyMessage}.`, {
      param: ON_BUSY_HEADER,
    });
  return header;
}

/** The run an Assistants request asks for, in the terms of the shared intake. */
function intakeRequest(
  config: Config,
  body: CreateRunBody,
  parts: Pick<IntakeRequest, "thread" | "messages" | "callback">,
): Omit<IntakeRequest, "idempotency" | "tenant"> {
  const opt = <T>(v: T | null | undefined) => v ?? undefined;
  checkModel(config, body.model);
  return {
    ...parts,
    assistantId: body.assistant_id,
    overrides: {
      model: opt(body.model),
      instructions: opt(body.instructions),
      additional_instructions:
        "additional_instructions" in body ? opt(body.additional_instructions) : undefined,
      temperature: opt(body.temperature),
      top_p: opt(body.top_p),
      max_output_tokens: opt(body.max_completion_tokens),
      metadata: opt(body.metadata),
      tools: body.tools ? checkTools(body.tools, config.devMode) : undefined,
      tool_choice: opt(body.tool_choice),
      parallel_tool_calls: body.parallel_tool_calls,
      response_format: opt(body.response_format),
      max_prompt_tokens: opt(body.max_prompt_tokens),
      truncation_strategy: body.truncation_strategy
        ? {
            type: body.truncation_strategy.type,
            last_messages: body.truncation_strategy.last_messages ?? null,
          }
        : undefined,
      reasoning_effort: opt(body.reasoning_effort),
    },
    timeoutS: body.timeout_s ?? config.runTimeoutS,
    limits: { maxToolRounds: config.maxToolRounds, requiresActionTimeoutS: config.requiresActionTimeoutS },
    // The assistant's progress events (engine/progress.ts), at the configured delta interval.
    progress: { intervalMs: config.messageDeltaIntervalMs },
    mode: "exclusive",
    debounceMs: opt(body.debounce_ms),
  };
}
