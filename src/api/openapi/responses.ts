/**
 * Response bodies as the API sends them, for the OpenAPI description. Objects are open (`looseObject`):
 * they list the fields callers rely on, with their types, and allow more, so a new field is not a
 * breaking change. Every response the test suite receives is validated against these
 * (test/support/openapi-check.ts).
 */
import { z } from "zod";

const Str = z.string();
const Int = z.number().int();
const NullableStr = z.string().nullable();
const Meta = z.record(z.string(), z.string()).nullable();

export const ErrorBody = z.strictObject({
  error: z.strictObject({
    type: z.enum([
      "invalid_request_error",
      "authentication_error",
      "permission_error",
      "not_found_error",
      "conflict_error",
      "rate_limit_error",
      "server_error",
      "service_unavailable_error",
    ]),
    code: NullableStr.describe("Machine-readable reason, e.g. `assistant_not_found`, `string_too_long`."),
    message: Str.describe("A sentence for humans."),
    param: NullableStr.describe("The request field (or header) at fault, when there is one."),
  }),
});

export const Deleted = (object: string) =>
  z.looseObject({ id: Str, object: z.literal(object), deleted: z.literal(true) });

export const ListOf = (item: z.ZodType) =>
  z.looseObject({
    object: z.literal("list"),
    data: z.array(item),
    first_id: NullableStr.optional(),
    last_id: NullableStr.optional(),
    has_more: z.boolean().optional(),
  });

export const Integration = z.looseObject({
  id: Str,
  object: z.literal("integration"),
  created_at: Int,
  type: z.enum(["slack", "discord"]),
  assistant_id: Str,
  credentials: z
    .record(z.string(), z.literal("********"))
    .describe("The credentials' names; their values are write-only and always shown masked."),
  options: z.looseObject({}),
  metadata: z.record(z.string(), z.string()),
  inbound_url: Str.describe("Where the platform sends its events (no API key; signed by the platform)."),
});

export const Schedule = z.looseObject({
  id: Str,
  object: z.literal("schedule"),
  created_at: Int,
  cron: Str,
  timezone: Str,
  start_at: NullableStr,
  end_at: NullableStr,
  enabled: z.boolean(),
  assistant_id: Str,
  input: Str,
  conversation: NullableStr,
  callback_url: Str,
  metadata: z.record(z.string(), z.string()),
  last_fired_at: NullableStr,
});

const TimelineEntry = z.looseObject({ status: Str, at: Str, cause: NullableStr.optional() });

export const Run = z.looseObject({
  id: Str,
  object: z.literal("thread.run"),
  created_at: Int,
  thread_id: Str,
  assistant_id: Str,
  status: z.enum([
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
  ]),
  required_action: z
    .looseObject({
      type: z.literal("submit_tool_outputs"),
      submit_tool_outputs: z.looseObject({
        tool_calls: z.array(
          z.looseObject({
            id: Str,
            type: z.literal("function"),
            function: z.looseObject({ name: Str, arguments: Str }),
          }),
        ),
      }),
    })
    .nullable(),
  last_error: z.looseObject({ code: Str, message: Str }).nullable(),
  expires_at: Int.nullable(),
  started_at: Int.nullable(),
  completed_at: Int.nullable(),
  model: Str,
  instructions: Str,
  tools: z.array(z.looseObject({ type: Str })),
  metadata: Meta.optional(),
  usage: z.looseObject({ prompt_tokens: Int, completion_tokens: Int, total_tokens: Int }).nullable(),
  conversation: NullableStr.describe("The caller's conversation key (webhook API), if any."),
  scheduled_for: Str.optional().describe("A delayed run's start time (`run_at` / `delay_s`)."),
  output: z.unknown().describe("The run's answer once it completed: text and annotations."),
  timeline: z.array(TimelineEntry),
  delivery: z
    .looseObject({
      state: Str,
      event_id: NullableStr,
      callback_url: NullableStr.describe("null for a run an integration started (see integration_id)."),
      integration_id: Str.optional().describe("The integration whose bot posts this run's answer."),
      attempts: z.array(z.looseObject({})),
      next_attempt_at: NullableStr,
    })
    .nullable()
    .describe("The callback's delivery (null without a callback_url)."),
});

export const AcceptedRun = Run.and(z.looseObject({ links: z.looseObject({ self: Str, thread: Str }) }));

export const RunStep = z.looseObject({
  id: Str,
  object: z.literal("thread.run.step"),
  run_id: Str,
  thread_id: Str,
  type: z.enum(["message_creation", "tool_calls"]),
  status: Str,
  step_details: z.looseObject({ type: Str }),
});

export const Thread = z.looseObject({
  id: Str,
  object: z.literal("thread"),
  created_at: Int,
  metadata: Meta.optional(),
});

export const Message = z.looseObject({
  id: Str,
  object: z.literal("thread.message"),
  created_at: Int,
  thread_id: Str,
  role: z.enum(["user", "assistant"]),
  content: z.array(z.looseObject({ type: Str })),
});

export const Assistant = z.looseObject({
  id: Str,
  object: z.literal("assistant"),
  created_at: Int,
  model: Str,
  name: NullableStr.optional(),
  instructions: NullableStr.optional(),
  tools: z.array(z.looseObject({ type: Str })),
});

export const AssistantFile = z.looseObject({
  id: Str,
  object: z.literal("assistant.file"),
  assistant_id: Str,
});

export const File = z.looseObject({
  id: Str,
  object: z.literal("file"),
  bytes: Int,
  filename: Str,
  purpose: Str,
});

export const VectorStore = z.looseObject({ id: Str, object: z.literal("vector_store"), status: Str });

export const VectorStoreFile = z.looseObject({
  id: Str,
  object: z.literal("vector_store.file"),
  vector_store_id: Str,
  status: Str,
});

export const FileBatch = z.looseObject({
  id: Str,
  object: z.literal("vector_store.files_batch"),
  vector_store_id: Str,
  status: Str,
});

export const Model = z.looseObject({ id: Str, object: z.literal("model"), created: Int, owned_by: Str });

export const ApiKey = z.looseObject({
  id: Str,
  object: z.literal("api_key"),
  name: NullableStr,
  role: Str,
  assistant_ids: z.array(Str).nullable(),
  rate_limit_per_min: Int.nullable(),
  hint: Str.describe("The key's last characters, to recognise it."),
  created_at: Int,
  revoked_at: Int.nullable(),
});

export const IssuedKey = ApiKey.and(
  z.looseObject({ key: Str.describe("The key itself: shown once, in this answer only.") }),
);

const Limits = z.looseObject({
  max_active_runs: Int.nullable().optional(),
  monthly_runs: Int.nullable().optional(),
  monthly_tokens: Int.nullable().optional(),
});

export const Tenant = z.looseObject({
  id: Str,
  object: z.literal("tenant"),
  name: NullableStr,
  created_at: Int,
  limits: Limits,
});

export const CreatedTenant = Tenant.and(
  z.looseObject({ webhook_secret: Str.describe("The tenant's first callback signing secret, shown once.") }),
);

const PublicSecret = z.looseObject({ id: Str });

export const RotatedSecret = z.looseObject({
  object: z.literal("webhook_secret"),
  webhook_secret: Str.describe("The new secret, shown once."),
  secrets: z.array(PublicSecret),
});

export const Usage = z.looseObject({ object: z.literal("usage") });

export const Health = z
  .looseObject({ status: z.enum(["ok", "degraded", "misconfigured"]) })
  .describe("`{ status }`; with the operator key, also the state of each backing service.");

/** A QStash step's answer: what the step did (`busy`: another step holds the run, with when to retry). */
export const StepAnswer = z
  .looseObject({ outcome: z.string(), retry_after_s: z.number().int().optional() })
  .describe('What the step did, e.g. `{ outcome: "progressed" }`.');
