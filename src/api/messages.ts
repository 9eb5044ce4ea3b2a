/** The webhook API's front door: one call carries assistant, thread or conversation key, input, callback. */
import { Hono } from "hono";
import { z } from "zod";
import { acceptRun } from "../commands/intake";
import { requireConfig } from "../config";
import { presentRun } from "../engine/present";
import { MAX_TEXT_CHARS } from "./limits";
import { type AuthedEnv, requireKey } from "../security/auth";
import { stepQueue, stores } from "../services";
import { callbackFor } from "./callback";
import { checkTools, OutboundHeaders, ResponseFormat, ToolChoice, Tools } from "./tools-schema";
import { idempotencyOf, Metadata, parse, parseJsonText } from "./validate";

const TextPart = z.strictObject({
  type: z.enum(["text", "input_text"]),
  text: z.string().min(1).max(MAX_TEXT_CHARS),
});

export const ConversationKey = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, "conversation keys are 1-256 printable ASCII characters without spaces");

const MessageRequest = z
  .strictObject({
    assistant_id: z.string().min(1).max(64),
    thread_id: z.string().min(1).max(64).optional(),
    conversation: ConversationKey.optional(),
    input: z.union([z.string().min(1).max(MAX_TEXT_CHARS), z.array(TextPart).min(1).max(32)]),
    instructions: z.string().max(MAX_TEXT_CHARS).optional(),
    additional_instructions: z.string().max(MAX_TEXT_CHARS).optional(),
    model: z.string().min(1).max(256).optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_output_tokens: z.number().int().min(16).max(1_000_000).optional(),
    metadata: Metadata.optional(),
    timeout_s: z.number().int().min(1).max(86_400).optional(),
    callback_url: z.string().min(1).max(2048),
    callback_headers: OutboundHeaders.optional(),
    tools: Tools.optional(),
    tool_choice: ToolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: ResponseFormat.optional(),
  })
  .refine((b) => !(b.thread_id && b.conversation), {
    message: "give thread_id or conversation, not both",
    path: ["conversation"],
  });

export const messages = new Hono<AuthedEnv>()
  .use("/v1/messages", requireKey)
  .post("/v1/messages", async (c) => {
    const config = requireConfig(c.env);
    const text = await c.req.text();
    const body = parse(MessageRequest, parseJsonText(text));
    const s = stores(config);
    const callback = await callbackFor(config, s, c.var.tenant, body.callback_url, body.callback_headers);
    const idempotency = await idempotencyOf(c, text);
    const { run, replayed } = await acceptRun(
      { ...s, queue: stepQueue(config, new URL(c.req.url).origin), now: Date.now },
      {
        tenant: c.var.tenant,
        assistantId: body.assistant_id,
        thread: body.thread_id
          ? { kind: "id", threadId: body.thread_id }
          : body.conversation
            ? { kind: "conversation", key: body.conversation }
            : { kind: "new" },
        messages: [
          {
            role: "user",
            content: typeof body.input === "string" ? body.input : body.input.map((p) => p.text).join("\n"),
          },
        ],
        overrides: { ...body, tools: body.tools ? checkTools(body.tools, config.devMode) : undefined },
        callback,
        timeoutS: body.timeout_s ?? config.runTimeoutS,
        limits: {
          maxToolRounds: config.maxToolRounds,
          requiresActionTimeoutS: config.requiresActionTimeoutS,
        },
        idempotency,
        mode: "queue",
        allowedAssistants: c.var.principal.assistantIds,
      },
    );
    const links = { self: `/v1/runs/${run.id}`, thread: `/v1/threads/${run.thread_id}` };
    return c.json({ ...presentRun(run), links }, 202, replayed ? { "idempotent-replayed": "true" } : {});
  });
