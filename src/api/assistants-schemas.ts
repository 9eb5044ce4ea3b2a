/**
 * Request bodies of the Assistants v2 compatible API (threads, messages, runs), as the retired API
 * took them, plus threadhook's callback fields on runs. Unknown fields are refused.
 */
import { z } from "zod";
import { OutboundHeaders, ResponseFormat, ToolChoice, Tools } from "./tools-schema";
import { Metadata } from "./validate";

const Detail = z.enum(["auto", "low", "high"]).optional();

const ContentPart = z.union([
  z.strictObject({ type: z.literal("text"), text: z.string().max(256_000) }),
  z.strictObject({
    type: z.literal("image_url"),
    image_url: z.strictObject({ url: z.string().min(1).max(2048), detail: Detail }),
  }),
  z.strictObject({
    type: z.literal("image_file"),
    image_file: z.strictObject({ file_id: z.string().min(1).max(128), detail: Detail }),
  }),
]);

const Attachment = z.strictObject({
  file_id: z.string().min(1).max(128),
  tools: z
    .array(z.strictObject({ type: z.enum(["code_interpreter", "file_search"]) }))
    .max(2)
    .default([]),
});

export const CreateMessage = z.strictObject({
  role: z.enum(["user", "assistant"]),
  content: z.union([z.string().min(1).max(256_000), z.array(ContentPart).min(1).max(32)]),
  attachments: z.array(Attachment).max(20).nullable().optional(),
  metadata: Metadata.nullable().optional(),
});

const ToolResources = z.record(z.string(), z.unknown()).nullable().optional();

export const CreateThread = z.strictObject({
  messages: z.array(CreateMessage).max(32).optional(),
  metadata: Metadata.nullable().optional(),
  tool_resources: ToolResources,
});

export const ModifyThread = z.strictObject({
  metadata: Metadata.nullable().optional(),
  tool_resources: ToolResources,
});

export const ModifyMetadata = z.strictObject({ metadata: Metadata.nullable().optional() });

const RunFields = {
  assistant_id: z.string().min(1).max(64),
  model: z.string().min(1).max(256).nullable().optional(),
  instructions: z.string().max(256_000).nullable().optional(),
  tools: Tools.nullable().optional(),
  metadata: Metadata.nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  max_prompt_tokens: z.number().int().min(256).nullable().optional(),
  max_completion_tokens: z.number().int().min(256).nullable().optional(),
  truncation_strategy: z
    .strictObject({
      type: z.enum(["auto", "last_messages"]),
      last_messages: z.number().int().min(1).nullable().optional(),
    })
    .nullable()
    .optional(),
  tool_choice: ToolChoice.nullable().optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: ResponseFormat.nullable().optional(),
  reasoning_effort: z
    .enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"])
    .nullable()
    .optional(),
  stream: z.boolean().nullable().optional(),
  // threadhook: where the run's events go (also accepted as metadata.callback_url).
  callback_url: z.string().min(1).max(2048).optional(),
  callback_headers: OutboundHeaders.optional(),
  timeout_s: z.number().int().min(1).max(86_400).optional(),
};

export const CreateRun = z.strictObject({
  ...RunFields,
  additional_instructions: z.string().max(256_000).nullable().optional(),
  additional_messages: z.array(CreateMessage).max(32).nullable().optional(),
});

export const CreateThreadAndRun = z.strictObject({
  ...RunFields,
  thread: CreateThread.optional(),
  tool_resources: ToolResources,
});

export type CreateRunBody = z.infer<typeof CreateRun> | z.infer<typeof CreateThreadAndRun>;
export type CreateMessageBody = z.infer<typeof CreateMessage>;
