/**
 * Request schemas shared by the front doors, each written once: ids, models, sampling parameters,
 * long texts, metadata, list queries, tools (the Assistants shapes plus threadhook's `endpoint` on
 * functions), tool outputs. Route-specific bodies build on these in their own folders.
 */
import { z } from "zod";
import { ON_BUSY, onBusyMessage } from "../engine/busy";
import { MAX_DEBOUNCE_MS } from "../engine/bounds";
import { PROGRESS_EVENTS } from "../engine/progress";
import {
  MAX_METADATA_KEY_CHARS,
  MAX_METADATA_KEYS,
  MAX_METADATA_VALUE_CHARS,
  MAX_SCHEMA_BYTES,
  MAX_TEXT_CHARS,
  MAX_TOOL_OUTPUT_CHARS,
  MAX_TOOLS,
} from "./limits";

/** An object id a caller sends (assistant, thread, run, …). */
export const Id = z.string().min(1).max(64);
export const Model = z.string().min(1).max(256);
export const Temperature = z.number().min(0).max(2);
export const TopP = z.number().min(0).max(1);
/** Instructions, inputs, message texts (400 `string_too_long` past the limit). */
export const LongText = z.string().max(MAX_TEXT_CHARS);
export const CallbackUrl = z.string().min(1).max(2048);

/** Progress events a run delivers besides its end (engine/progress.ts); unknown names are refused. */
export const ProgressEvents = z
  .array(
    z.enum(PROGRESS_EVENTS, {
      error: () => `unknown event; the allowed values are ${PROGRESS_EVENTS.map((e) => `'${e}'`).join(", ")}`,
    }),
  )
  .max(PROGRESS_EVENTS.length);
export const TimeoutS = z.number().int().min(1).max(86_400);

export const ConversationKey = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, "conversation keys are 1-256 printable ASCII characters without spaces");

/** Routes that take no parameters accept an empty body or `{}`, nothing else. */
export const NoBody = z.strictObject({});

export const Metadata = z
  .record(
    z.string().max(MAX_METADATA_KEY_CHARS, `metadata keys are at most ${MAX_METADATA_KEY_CHARS} characters`),
    z
      .string()
      .max(MAX_METADATA_VALUE_CHARS, `metadata values are at most ${MAX_METADATA_VALUE_CHARS} characters`),
  )
  .refine(
    (m) => Object.keys(m).length <= MAX_METADATA_KEYS,
    `metadata has at most ${MAX_METADATA_KEYS} keys`,
  );

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(["asc", "desc"]).default("desc"),
  after: z.string().max(128).optional(),
  before: z.string().max(128).optional(),
});

const RESERVED_HEADERS =
  /^(host|content-type|content-length|connection|transfer-encoding|user-agent|webhook-.*)$/i;
/** Headers a caller has threadhook send with its callbacks or tool calls. */
export const OutboundHeaders = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "header names are HTTP tokens")
      .refine((h) => !RESERVED_HEADERS.test(h), "this header is set by threadhook"),
    z
      .string()
      .max(1024)
      .regex(/^[^\r\n]*$/, "header values are one line"),
  )
  .refine((h) => Object.keys(h).length <= 16, "at most 16 headers");

const JSON_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"];
const JsonSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => new TextEncoder().encode(JSON.stringify(s)).length <= MAX_SCHEMA_BYTES, {
    message: `schemas are at most ${MAX_SCHEMA_BYTES} bytes of JSON`,
    params: { code: "schema_too_large" },
  })
  .refine(
    (s) => s.type === undefined || (typeof s.type === "string" && JSON_TYPES.includes(s.type)),
    "parameters.type must be a JSON Schema type",
  )
  .refine(
    (s) =>
      s.properties === undefined ||
      (typeof s.properties === "object" && s.properties !== null && !Array.isArray(s.properties)),
    "parameters.properties must be an object",
  );

const FunctionTool = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "function names are 1-64 letters, digits, _ or -"),
    description: z.string().max(1024).optional(),
    parameters: JsonSchema.optional(),
    strict: z.boolean().nullable().optional(),
  }),
  endpoint: z
    .strictObject({
      url: z.string().min(1).max(2048),
      headers: OutboundHeaders.optional(),
      timeout_ms: z.number().int().min(100).max(60_000).optional(),
    })
    .optional(),
});

export const Tool = z.union([
  z.strictObject({ type: z.literal("code_interpreter") }),
  // Assistants v1: the `retrieval` tool is file_search (commands/tools.ts maps it).
  z.strictObject({ type: z.literal("retrieval") }),
  z.strictObject({
    type: z.literal("file_search"),
    file_search: z
      .strictObject({
        vector_store_ids: z.array(z.string().min(1).max(128)).max(10).optional(),
        max_num_results: z.number().int().min(1).max(50).optional(),
        ranking_options: z.record(z.string(), z.unknown()).optional(),
      })
      .optional(),
  }),
  FunctionTool,
]);

export const Tools = z.array(Tool).max(MAX_TOOLS, `at most ${MAX_TOOLS} tools`);

export const ToolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.strictObject({
    type: z.literal("function"),
    function: z.strictObject({ name: z.string().min(1).max(64) }),
  }),
  z.strictObject({ type: z.enum(["file_search", "code_interpreter"]) }),
]);

export const ResponseFormat = z.union([
  z.literal("auto"),
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
      description: z.string().max(1024).optional(),
      schema: JsonSchema.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

export const SubmitToolOutputs = z.strictObject({
  tool_outputs: z
    .array(
      z.strictObject({
        tool_call_id: z.string().min(1).max(128),
        output: z.string().max(MAX_TOOL_OUTPUT_CHARS),
      }),
    )
    .min(1)
    .max(128),
  stream: z.boolean().optional(),
});

/** `tool_resources` of assistants and threads (at most one store each, as the Assistants API had it). */
export const ToolResources = z.strictObject({
  code_interpreter: z.strictObject({ file_ids: z.array(Id).max(20).optional() }).optional(),
  file_search: z
    .strictObject({
      vector_store_ids: z.array(Id).max(1).optional(),
      vector_stores: z
        .array(
          z.strictObject({
            file_ids: z.array(Id).max(10_000).optional(),
            chunking_strategy: z.record(z.string(), z.unknown()).optional(),
            metadata: Metadata.nullable().optional(),
          }),
        )
        .max(1)
        .optional(),
    })
    .optional(),
});

/** The tools a message attachment is for. */
export const AttachmentTools = z
  .array(z.strictObject({ type: z.enum(["code_interpreter", "file_search"]) }))
  .max(2);

/** A busy-thread policy (engine/busy.ts): an unknown one is a 400 naming every allowed value. */
export const OnBusyField = z.enum(ON_BUSY, { error: () => onBusyMessage });
/** Quiet a run waits for before it starts, with `on_busy` queue or merge (engine/bounds.ts). */
export const DebounceMs = z.number().int().min(0).max(MAX_DEBOUNCE_MS);
