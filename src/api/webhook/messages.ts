/** `POST /v1/messages`: one call carries assistant, thread or conversation key, input, callback. */
import { Hono } from "hono";
import { z } from "zod";
import { callbackFor } from "../../commands/callback";
import { splitAttachments } from "../../commands/file-refs";
import { deferRun } from "../../commands/deferred";
import { acceptRun, type IntakeRequest, type ThreadTarget } from "../../commands/intake";
import { ApiError } from "../../errors";
import { checkModel } from "../../commands/models";
import { assertRunTargetAllowed } from "../../commands/thread-access";
import { checkTools } from "../../commands/tools";
import { presentRun } from "../../engine/present";
import { type AuthedEnv, requireKey } from "../../security/auth";
import {
  AttachmentTools,
  CallbackUrl,
  DebounceMs,
  OnBusyField,
  ConversationKey,
  Id,
  LongText,
  Metadata,
  Model,
  OutboundHeaders,
  ProgressEvents,
  ResponseFormat,
  Temperature,
  TimeoutS,
  ToolChoice,
  Tools,
  TopP,
} from "../schemas";
import { idempotencyOf, parse, parseJsonText } from "../validate";

const TextPart = z.strictObject({ type: z.enum(["text", "input_text"]), text: LongText.min(1) });

/** A file for the run's tools (default: file_search), by id or by URL (fetched before the run starts). */
const ForTools = AttachmentTools.default([{ type: "file_search" }]);
const MessageAttachment = z.union([
  z.strictObject({ file_id: Id, tools: ForTools }),
  z.strictObject({
    url: z.string().min(1).max(2048),
    filename: z.string().min(1).max(256).optional(),
    tools: ForTools,
  }),
]);

export const MessageRequest = z
  .strictObject({
    assistant_id: Id,
    thread_id: Id.optional(),
    conversation: ConversationKey.optional(),
    input: z.union([LongText.min(1), z.array(TextPart).min(1).max(32)]),
    instructions: LongText.optional(),
    additional_instructions: LongText.optional(),
    model: Model.optional(),
    temperature: Temperature.optional(),
    top_p: TopP.optional(),
    max_output_tokens: z.number().int().min(16).max(1_000_000).optional(),
    metadata: Metadata.optional(),
    timeout_s: TimeoutS.optional(),
    callback_url: CallbackUrl,
    callback_headers: OutboundHeaders.optional(),
    /** Progress events to deliver besides the end (default: the assistant's `events`). */
    events: ProgressEvents.optional(),
    tools: Tools.optional(),
    tool_choice: ToolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: ResponseFormat.optional(),
    attachments: z.array(MessageAttachment).max(10).optional(),
    /** Start the run later: at this time (RFC 3339), or after this many seconds. */
    run_at: z.iso.datetime({ offset: true }).optional(),
    delay_s: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400)
      .optional(),
    /** What happens when the thread already has an active run (default: the assistant's, else `queue`). */
    on_busy: OnBusyField.optional(),
    debounce_ms: DebounceMs.optional(),
  })
  .refine((b) => !(b.thread_id && b.conversation), {
    message: "give thread_id or conversation, not both",
    path: ["conversation"],
  })
  .refine((b) => !(b.run_at && b.delay_s), {
    message: "give run_at or delay_s, not both",
    path: ["delay_s"],
  });

export const messages = new Hono<AuthedEnv>().use("*", requireKey).post("/", async (c) => {
  const { deps, principal } = c.var;
  const { config } = deps;
  const text = await c.req.text();
  const {
    attachments: attached,
    run_at,
    delay_s,
    on_busy,
    debounce_ms,
    events,
    ...body
  } = parse(MessageRequest, parseJsonText(text));
  const runAtMs = startTime(run_at, delay_s, deps.now(), config.runAtHorizonS);
  checkModel(config, body.model);
  const { attachments, urls } = splitAttachments(attached ?? [], config.devMode);
  const callback = await callbackFor(deps, principal.tenant, body.callback_url, body.callback_headers);
  const thread: ThreadTarget = body.thread_id
    ? { kind: "id", threadId: body.thread_id }
    : body.conversation
      ? { kind: "conversation", key: body.conversation }
      : { kind: "new" };
  await assertRunTargetAllowed(deps, principal, thread);
  const request: IntakeRequest = {
    tenant: principal.tenant,
    assistantId: body.assistant_id,
    thread,
    messages: [
      {
        role: "user",
        content: typeof body.input === "string" ? body.input : body.input.map((p) => p.text).join("\n"),
        ...(attachments.length > 0 ? { attachments } : {}),
      },
    ],
    attachmentUrls: urls,
    overrides: { ...body, tools: body.tools ? checkTools(body.tools, config.devMode) : undefined },
    callback,
    progress: { events, intervalMs: config.messageDeltaIntervalMs },
    timeoutS: body.timeout_s ?? config.runTimeoutS,
    limits: { maxToolRounds: config.maxToolRounds, requiresActionTimeoutS: config.requiresActionTimeoutS },
    idempotency: await idempotencyOf(c, text),
    mode: "queue",
    onBusy: on_busy,
    debounceMs: debounce_ms,
    allowedAssistants: principal.assistantIds,
  };
  const { run, replayed } =
    runAtMs === null ? await acceptRun(deps, request) : await deferRun(deps, request, runAtMs);
  const links = { self: `/v1/runs/${run.id}`, thread: `/v1/threads/${run.thread_id}` };
  return c.json({ ...presentRun(run), links }, 202, replayed ? { "idempotent-replayed": "true" } : {});
});

/**
 * When a delayed message's run starts (ms), or null to start now. `run_at` in the past, or either
 * beyond the horizon (RUN_AT_HORIZON_S), is a 400.
 */
function startTime(runAt: string | undefined, delayS: number | undefined, now: number, horizonS: number) {
  if (runAt === undefined && delayS === undefined) return null;
  const param = runAt !== undefined ? "run_at" : "delay_s";
  const at = runAt !== undefined ? Date.parse(runAt) : now + (delayS ?? 0) * 1000;
  if (at <= now)
    throw new ApiError(400, "invalid_run_at", "run_at is in the past; give a future time or leave it out.", {
      param,
    });
  if (at > now + horizonS * 1000)
    throw new ApiError(
      400,
      "invalid_run_at",
      `A run may start at most ${horizonS} s ahead (RUN_AT_HORIZON_S); ${param} is later.`,
      { param },
    );
  return at;
}
