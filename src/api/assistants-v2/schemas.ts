/**
 * Request bodies of the Assistants v2 compatible API (threads, messages, runs), as the retired API
 * took them, plus threadhook's callback fields on runs. Unknown fields are refused.
 */
import { z } from "zod";
import {
  CallbackUrl,
  DebounceMs,
  Id,
  OnBusyField,
  LongText,
  Metadata,
  Model,
  OutboundHeaders,
  ProgressEvents,
  ResponseFormat,
  Temperature,
  TimeoutS,
  ToolChoice,
  ToolResources as ToolResourcesBody,
  Tools,
  TopP,
} from "../schemas";

/** Modify takes every field as optional; create requires `model`. */
export const ModifyAssistant = z.strictObject({
  model: Model.optional(),
  name: z.string().max(256).nullable().optional(),
  description: z.string().max(512).nullable().optional(),
  instructions: LongText.nullable().optional(),
  tools: Tools.optional(),
  tool_errors: z.enum(["continue", "fail"]).optional(),
  /** threadhook: the default busy-thread policy of this assistant's runs (webhook API), and its debounce. */
  on_busy: OnBusyField.nullable().optional(),
  debounce_ms: DebounceMs.nullable().optional(),
  // threadhook: progress events the assistant's runs deliver by default (webhook-api.md).
  events: ProgressEvents.optional(),
  tool_resources: ToolResourcesBody.nullable().optional(),
  metadata: Metadata.nullable().optional(),
  temperature: Temperature.nullable().optional(),
  top_p: TopP.nullable().optional(),
  response_format: ResponseFormat.optional(),
  reasoning_effort: z.string().max(16).nullable().optional(),
  // Assistants v1: files for the assistant's code_interpreter and retrieval tools.
  file_ids: z.array(Id).max(20).optional(),
});
export const CreateAssistant = ModifyAssistant.extend({ model: Model });

const Detail = z.enum(["auto", "low", "high"]).optional();

const ContentPart = z.union([
  z.strictObject({ type: z.literal("text"), text: LongText }),
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
  content: z.union([LongText.min(1), z.array(ContentPart).min(1).max(32)]),
  attachments: z.array(Attachment).max(20).nullable().optional(),
  metadata: Metadata.nullable().optional(),
  // Assistants v1: files for the run's code_interpreter and retrieval tools.
  file_ids: z.array(Id).max(10).optional(),
});

const ToolResources = ToolResourcesBody.nullable().optional();

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
  assistant_id: Id,
  model: Model.nullable().optional(),
  instructions: LongText.nullable().optional(),
  tools: Tools.nullable().optional(),
  metadata: Metadata.nullable().optional(),
  temperature: Temperature.nullable().optional(),
  top_p: TopP.nullable().optional(),
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
  callback_url: CallbackUrl.optional(),
  callback_headers: OutboundHeaders.optional(),
  timeout_s: TimeoutS.optional(),
  // threadhook: what a busy thread does with this run (also the `threadhook-on-busy` header);
  // without either, the original 400 "already has an active run".
  on_busy: OnBusyField.optional(),
  debounce_ms: DebounceMs.optional(),
};

export const CreateRun = z.strictObject({
  ...RunFields,
  additional_instructions: LongText.nullable().optional(),
  additional_messages: z.array(CreateMessage).max(32).nullable().optional(),
});

export const CreateThreadAndRun = z.strictObject({
  ...RunFields,
  thread: CreateThread.optional(),
  tool_resources: ToolResources,
});

export type CreateRunBody = z.infer<typeof CreateRun> | z.infer<typeof CreateThreadAndRun>;
