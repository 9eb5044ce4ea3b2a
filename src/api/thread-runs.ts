/**
 * Runs of a thread (Assistants v2): create (also with a new thread), list, retrieve, modify,
 * cancel, submit tool outputs, run steps; `stream: true` answers Server-Sent Events. The same
 * engine and records as the webhook API; runs here are exclusive per thread, as the original was.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { cancelRun, loadRun, submitToolOutputs } from "../commands/control";
import { acceptRun, type IntakeRequest, type NewMessage, type ThreadTarget } from "../commands/intake";
import { loadThread } from "../commands/threads";
import { type Config, requireConfig } from "../config";
import { presentRun, presentStep } from "../engine/present";
import { alreadyEmitted, type StreamEvent } from "../engine/stream-events";
import type { RunRecord } from "../engine/types";
import { notFound } from "../errors";
import { type AuthedEnv, assertAssistantAllowed, keyMayUse, requireKey } from "../security/auth";
import { controlDeps, sleep, stepQueue, stores, threadDeps, upstream } from "../services";
import { pageOf } from "../store/list";
import { type CreateRunBody, CreateRun, CreateThreadAndRun, ModifyMetadata } from "./assistants-schemas";
import { callbackFor } from "./callback";
import { runStream } from "./run-stream";
import { SubmitToolOutputs } from "./runs";
import { presentThread } from "./threads";
import { checkTools } from "./tools-schema";
import { idempotencyOf, ListQuery, parse, parseBody, parseJsonText, parseQuery } from "./validate";

/** How often the SDK's pollers (`createAndPoll`, `poll`) should ask: they default to 5 s otherwise. */
export const POLL_AFTER_MS = 500;

export const threadRuns = new Hono<AuthedEnv>()
  .use("/v1/threads/*", requireKey)
  .post("/v1/threads/runs", async (c) => {
    const text = await c.req.text();
    const body = parse(CreateThreadAndRun, parseJsonText(text));
    const target: ThreadTarget = {
      kind: "new",
      metadata: body.thread?.metadata ?? undefined,
      toolResources: body.thread?.tool_resources ?? body.tool_resources ?? undefined,
    };
    return createRun(c, body, target, body.thread?.messages ?? [], text);
  })
  .post("/v1/threads/:thread/runs", async (c) => {
    const text = await c.req.text();
    const body = parse(CreateRun, parseJsonText(text));
    const target: ThreadTarget = { kind: "id", threadId: c.req.param("thread") };
    return createRun(c, body, target, body.additional_messages ?? [], text);
  })
  .get("/v1/threads/:thread/runs", async (c) => {
    const q = parseQuery(c, ListQuery);
    const deps = threadDeps(requireConfig(c.env));
    const thread = await loadThread(deps, c.var.tenant, c.req.param("thread"));
    const page = await deps.runs.list(c.var.tenant, thread.id, q);
    // A key scoped to some assistants sees their runs only.
    const data = page.data.filter((r) => keyMayUse(c.var.principal, r.assistant_id)).map(presentRun);
    return c.json({ ...page, data });
  })
  .get("/v1/threads/:thread/runs/:run", async (c) => {
    const run = await runOf(c);
    return c.json(presentRun(run), 200, { "openai-poll-after-ms": String(POLL_AFTER_MS) });
  })
  .post("/v1/threads/:thread/runs/:run", async (c) => {
    const run = await runOf(c);
    const body = await parseBody(c, ModifyMetadata);
    if (body.metadata === undefined) return c.json(presentRun(run));
    const metadata = body.metadata ?? {};
    await stores(requireConfig(c.env)).runs.setMetadata(c.var.tenant, run.id, metadata);
    return c.json(presentRun({ ...run, params: { ...run.params, metadata } }));
  })
  .post("/v1/threads/:thread/runs/:run/cancel", async (c) => {
    const run = await runOf(c);
    const cancelled = await cancelRun(controlDeps(requireConfig(c.env), origin(c)), c.var.tenant, run.id);
    return c.json(presentRun(cancelled));
  })
  .post("/v1/threads/:thread/runs/:run/submit_tool_outputs", async (c) => {
    const run = await runOf(c);
    const body = await parseBody(c, SubmitToolOutputs);
    const config = requireConfig(c.env);
    const next = await submitToolOutputs(
      controlDeps(config, origin(c)),
      c.var.tenant,
      run.id,
      body.tool_outputs,
    );
    if (!body.stream) return c.json(presentRun(next));
    return stream(c, config, next, { first: [], emitted: alreadyEmitted(next) });
  })
  .get("/v1/threads/:thread/runs/:run/steps", async (c) => {
    const q = parseQuery(c, ListQuery);
    const run = await runOf(c);
    return c.json(
      pageOf(
        run.steps.map((s) => presentStep(run, s)),
        q,
      ),
    );
  })
  .get("/v1/threads/:thread/runs/:run/steps/:step", async (c) => {
    const run = await runOf(c);
    const step = run.steps.find((s) => s.id === c.req.param("step"));
    if (!step) throw notFound("run step", c.req.param("step"), "step_id");
    return c.json(presentStep(run, step));
  });

const origin = (c: Context) => new URL(c.req.url).origin;

/** The run named in the path, which must belong to the thread named in the path. */
async function runOf(c: Context<AuthedEnv>): Promise<RunRecord> {
  const { thread, run: runId } = c.req.param() as { thread: string; run: string };
  const { run } = await loadRun({ runs: stores(requireConfig(c.env)).runs }, c.var.tenant, runId);
  if (run.thread_id !== thread) throw notFound("run", runId, "run_id");
  assertAssistantAllowed(c.var.principal, run.assistant_id, "run_id");
  return run;
}

async function createRun(
  c: Context<AuthedEnv>,
  body: CreateRunBody,
  thread: ThreadTarget,
  messages: NewMessage[],
  text: string,
) {
  const config = requireConfig(c.env);
  const s = stores(config);
  const callbackUrl = body.callback_url ?? body.metadata?.callback_url;
  const callback = callbackUrl
    ? await callbackFor(config, s, c.var.tenant, callbackUrl, body.callback_headers)
    : null;
  const request = intakeRequest(config, body, { thread, messages, callback });
  const accepted = await acceptRun(
    { ...s, queue: stepQueue(config, origin(c)), now: Date.now },
    {
      ...request,
      tenant: c.var.tenant,
      idempotency: await idempotencyOf(c, text),
      allowedAssistants: c.var.principal.assistantIds,
    },
  );
  const headers: Record<string, string> = accepted.replayed ? { "idempotent-replayed": "true" } : {};
  if (!body.stream) return c.json(presentRun(accepted.run), 200, headers);
  const first: StreamEvent[] = [
    ...(accepted.thread ? [{ event: "thread.created", data: presentThread(accepted.thread) }] : []),
    { event: "thread.run.created", data: presentRun(accepted.run) },
  ];
  return stream(c, config, accepted.run, { first, emitted: new Set() });
}

function stream(
  c: Context,
  config: Config,
  run: RunRecord,
  opts: { first: StreamEvent[]; emitted: Set<string> },
) {
  return runStream(c, { runs: stores(config).runs, upstream: upstream(config), sleep }, run, opts);
}

/** The run an Assistants request asks for, in the terms of the shared intake. */
function intakeRequest(
  config: Config,
  body: CreateRunBody,
  parts: Pick<IntakeRequest, "thread" | "messages" | "callback">,
): Omit<IntakeRequest, "idempotency" | "tenant"> {
  const opt = <T>(v: T | null | undefined) => v ?? undefined;
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
    mode: "exclusive",
  };
}
