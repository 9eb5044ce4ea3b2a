/**
 * The OpenAPI 3.1 description, built from the operation table (./operations.ts) with zod 4's own
 * `z.toJSONSchema`: request bodies and queries are the schemas the routes parse with, so the
 * description cannot drift from them. Served at `/openapi.json`; `npm run docs:openapi` writes
 * docs/openapi.json (a test fails when that copy is stale).
 */
import { z } from "zod";
import { OPERATIONS, type Operation } from "./operations";
import * as R from "./responses";

const JSON_SCHEMA_OPTS = { target: "draft-2020-12", io: "input", unrepresentable: "any" } as const;

/** Named response schemas: shown once under components.schemas and referenced. */
const NAMED: Record<string, z.ZodType> = {
  ErrorBody: R.ErrorBody,
  Run: R.Run,
  Schedule: R.Schedule,
  AcceptedRun: R.AcceptedRun,
  RunStep: R.RunStep,
  Thread: R.Thread,
  Message: R.Message,
  Assistant: R.Assistant,
  AssistantFile: R.AssistantFile,
  File: R.File,
  VectorStore: R.VectorStore,
  VectorStoreFile: R.VectorStoreFile,
  FileBatch: R.FileBatch,
  Model: R.Model,
  ApiKey: R.ApiKey,
  IssuedKey: R.IssuedKey,
  Tenant: R.Tenant,
  CreatedTenant: R.CreatedTenant,
  RotatedSecret: R.RotatedSecret,
  Usage: R.Usage,
  Health: R.Health,
  StepAnswer: R.StepAnswer,
};

/** The callback events a run produces, POSTed to its `callback_url`. */
export const EVENT_TYPES = [
  "run.completed",
  "run.failed",
  "run.cancelled",
  "run.expired",
  "run.incomplete",
  "run.requires_action",
] as const;

const EVENT_DESCRIPTIONS: Record<(typeof EVENT_TYPES)[number], string> = {
  "run.completed": "The run finished; `data.run.output` holds the answer.",
  "run.failed": "The run failed; `data.run.last_error` says why.",
  "run.cancelled": "The run was cancelled.",
  "run.expired": "The run passed its deadline (or its tool outputs did not come in time).",
  "run.incomplete": "The model stopped early; `data.run.incomplete_details` says why.",
  "run.requires_action":
    "The run waits for tool outputs: answer with `{ tool_outputs: [...] }` in the 2xx reply, or later through submit_tool_outputs.",
};

const CallbackEvent = (type: string) =>
  z.looseObject({
    id: z.string().describe("Stable across retries: deduplicate on it (it is also `webhook-id`)."),
    type: z.literal(type),
    created_at: z.number().int(),
    data: z.looseObject({ run: R.Run }),
  });

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export function openApiDocument(serverUrl?: string): Json {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(NAMED)) registry.add(schema, { id });
  for (const op of OPERATIONS) {
    if (op.body && !registry.has(op.body)) registry.add(op.body, { id: `${cap(op.operationId)}Request` });
    if (typeof op.response !== "string" && !registry.has(op.response)) {
      registry.add(op.response, { id: `${cap(op.operationId)}Response` });
    }
  }
  for (const type of EVENT_TYPES) registry.add(CallbackEvent(type), { id: eventSchemaName(type) });
  const { schemas } = z.toJSONSchema(registry, {
    ...JSON_SCHEMA_OPTS,
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
    tidy(schema);
  }
  const nameOf = (schema: z.ZodType) => registry.get(schema)?.id;

  const paths: Record<string, Record<string, Json>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    (paths[op.path] as Record<string, Json>)[op.method] = operation(op, nameOf);
  }

  const webhooks: Record<string, Json> = {};
  for (const type of EVENT_TYPES) {
    webhooks[type] = {
      post: {
        summary: `\`${type}\``,
        description: `${EVENT_DESCRIPTIONS[type]} Signed per Standard Webhooks: verify \`webhook-signature\` over \`{webhook-id}.{webhook-timestamp}.{body}\` with the tenant's secret (HMAC-SHA256; during a rotation one \`v1,\` signature per live secret). Retried with backoff until a 2xx.`,
        parameters: WEBHOOK_HEADERS,
        requestBody: {
          required: true,
          content: { "application/json": { schema: ref(eventSchemaName(type)) } },
        },
        responses: { "200": { description: "Received (any 2xx)." } },
      },
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "threadhook",
      version: "1",
      summary: "Assistants-style assistants, threads and runs from webhooks, with signed callbacks.",
      description:
        "Two front doors over one engine: the **webhook API** (`POST /v1/messages` answers `202`; the result arrives as a signed callback) and the **Assistants v2 API** (the retired OpenAI Assistants API's paths and objects, for the `openai` SDK's `beta` client). Errors are always `{ error: { type, code, message, param } }`. Authenticate with `Authorization: Bearer <API key>`; the operator API takes the operator key.",
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    servers: [{ url: serverUrl ?? "http://127.0.0.1:8787" }],
    tags: TAGS,
    paths,
    webhooks,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "A tenant API key." },
        operatorKey: { type: "http", scheme: "bearer", description: "The deployment's OPERATOR_KEY." },
        qstashSignature: { type: "apiKey", in: "header", name: "Upstash-Signature" },
        openaiSignature: { type: "apiKey", in: "header", name: "webhook-signature" },
        signedLink: { type: "apiKey", in: "query", name: "signature" },
      },
      headers: {
        "RateLimit-Limit": intHeader("Requests per minute this key may make."),
        "RateLimit-Remaining": intHeader("Requests left in the current window."),
        "RateLimit-Reset": intHeader("Seconds until the window resets."),
        "Retry-After": intHeader("Seconds to wait before trying again."),
      },
      responses: {
        Error: {
          description:
            "An error: `type` by status (e.g. 400 `invalid_request_error`, 401, 403, 404, 409 for an Idempotency-Key reused with another body, 413, 429 with `Retry-After`, 503 when a backing service is not configured), a machine-readable `code`, a sentence in `message`, the field at fault in `param`.",
          headers: { "Retry-After": { $ref: "#/components/headers/Retry-After" } },
          content: { "application/json": { schema: ref("ErrorBody") } },
        },
      },
    },
  };
}

const SAFE = Number.MAX_SAFE_INTEGER;
/** Drop the ±2^53 bounds zod puts on every integer: they say nothing to a reader. */
function tidy(node: unknown): void {
  if (Array.isArray(node)) for (const n of node) tidy(n);
  else if (node && typeof node === "object") {
    const o = node as Json;
    if (o.minimum === -SAFE) delete o.minimum;
    if (o.maximum === SAFE) delete o.maximum;
    for (const v of Object.values(o)) tidy(v);
  }
}

const cap = (s: string) => `${s[0]?.toUpperCase()}${s.slice(1)}`;
const eventSchemaName = (type: string) => `${type.split(/[._]/).map(cap).join("")}Event`;
const intHeader = (description: string) => ({ description, schema: { type: "integer" } });

const ASSISTANTS_TAGS = new Set(["Assistants", "Threads", "Messages", "Runs"]);
const ASSISTANTS_REFERENCE = "https://platform.openai.com/docs/api-reference/assistants";

const TAGS = [
  ["Webhook API", "Send a message, get `202`, receive the answer as a signed callback."],
  ["Assistants", "Assistants v2 (the retired OpenAI API's shapes), plus v1's assistant files."],
  ["Threads", "Assistants v2 threads."],
  ["Messages", "Assistants v2 messages."],
  ["Runs", "Assistants v2 runs, steps and event streams."],
  ["Files", "Files, for both front doors."],
  ["Vector stores", "Vector stores for file_search."],
  ["Models", "The models this deployment allows."],
  [
    "Integrations",
    "Chat bots (Slack, Discord) on an assistant: the platform's events in, the answers posted back.",
  ],
  ["Account", "A tenant's own keys, callback secrets and usage (admin keys)."],
  ["Operator", "Tenants, their keys, secrets and usage (the operator key)."],
  ["System", "Health, this description and its docs page."],
  ["Internal", "Called by QStash and OpenAI, not by callers."],
].map(([name, description]) => ({
  name,
  description,
  // The Assistants front door serves the retired API's own shapes: its reference is the long form.
  ...(ASSISTANTS_TAGS.has(name as string)
    ? { externalDocs: { description: "OpenAI's Assistants v2 reference", url: ASSISTANTS_REFERENCE } }
    : {}),
}));

const WEBHOOK_HEADERS = [
  ["webhook-id", "The event's id, the same on every retry."],
  ["webhook-timestamp", "Unix seconds of this attempt."],
  ["webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256>`, one per live secret."],
].map(([name, description]) => ({
  name,
  in: "header",
  required: true,
  description,
  schema: { type: "string" },
}));

const SECURITY: Record<Operation["auth"], Json[]> = {
  key: [{ apiKey: [] }],
  operator: [{ operatorKey: [] }],
  none: [],
  qstash: [{ qstashSignature: [] }],
  openai: [{ openaiSignature: [] }],
  signed_link: [{ signedLink: [] }],
};

function operation(op: Operation, nameOf: (s: z.ZodType) => string | undefined): Json {
  const parameters: Json[] = [];
  for (const [, name] of op.path.matchAll(/\{(\w+)\}/g)) {
    parameters.push({ name, in: "path", required: true, schema: { type: "string" } });
  }
  if (op.query) {
    for (const [name, schema] of Object.entries(op.query.shape)) {
      const json = z.toJSONSchema(schema as z.ZodType, JSON_SCHEMA_OPTS) as Json;
      delete json.$schema;
      tidy(json);
      const required = !(schema as z.ZodType).safeParse(undefined).success;
      parameters.push({ name, in: "query", required, schema: json });
    }
  }
  if (op.idempotent) {
    parameters.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "Send the same key with the same body again (e.g. on a retry) and get the same run back (`idempotent-replayed: true`); the same key with another body is `409`.",
      schema: { type: "string", maxLength: 256 },
    });
  }
  const out: Json = {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: SECURITY[op.auth],
    ...(op.role ? { "x-threadhook-role": op.role } : {}),
  };
  if (parameters.length > 0) out.parameters = parameters;
  if (op.body) {
    const name = nameOf(op.body) as string;
    const media = { schema: ref(name), ...(op.example ? { example: op.example } : {}) };
    out.requestBody = { required: op.method === "post", content: { "application/json": media } };
  } else if (op.bodyKind === "multipart") {
    out.requestBody = {
      required: true,
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            required: ["file", "purpose"],
            properties: {
              file: { type: "string", contentMediaType: "application/octet-stream" },
              purpose: { type: "string" },
            },
          },
        },
      },
    };
  }
  const headers =
    op.auth === "key"
      ? {
          "RateLimit-Limit": { $ref: "#/components/headers/RateLimit-Limit" },
          "RateLimit-Remaining": { $ref: "#/components/headers/RateLimit-Remaining" },
          "RateLimit-Reset": { $ref: "#/components/headers/RateLimit-Reset" },
        }
      : undefined;
  const content = successContent(op, nameOf);
  const responses: Json = {
    [String(op.status)]: {
      description: "Success.",
      ...(headers ? { headers } : {}),
      ...(content ? { content } : {}),
    },
  };
  if (op.ownErrors) {
    responses["503"] = {
      description: "Not configured or a backing service is down.",
      content: { "application/json": { schema: ref("Health") } },
    };
  } else {
    responses["5XX"] = { $ref: "#/components/responses/Error" };
  }
  if (op.busy) {
    responses["503"] = {
      description:
        "Another step holds the run (`outcome: busy`), or a backing service failed: QStash retries.",
      headers: { "Retry-After": { $ref: "#/components/headers/Retry-After" } },
      content: {
        "application/json": { schema: { oneOf: [ref("StepAnswer"), ref("ErrorBody")] } },
      },
    };
  }
  for (const [status, description] of errorsOf(op)) {
    responses[status] = {
      description,
      ...(status === "429"
        ? { headers: { "Retry-After": { $ref: "#/components/headers/Retry-After" } } }
        : {}),
      content: { "application/json": { schema: ref("ErrorBody") } },
    };
  }
  responses["4XX"] = { $ref: "#/components/responses/Error" };
  out.responses = responses;
  return out;
}

/** The error answers an operation can give, with their codes (the `4XX`/`5XX` entries cover the rest). */
function errorsOf(op: Operation): [string, string][] {
  const out: [string, string][] = [];
  const params = op.path.includes("{");
  if (op.body || op.query || op.bodyKind) {
    out.push([
      "400",
      "Bad input (`invalid_json`, `unknown_parameter`, `missing_required_parameter`, `invalid_value`, `string_too_long`, …); `param` names the field.",
    ]);
  }
  if (op.auth === "key" || op.auth === "operator") {
    out.push(["401", "No or an unknown key (`invalid_api_key`)."]);
  }
  if (op.auth === "key") {
    out.push([
      "403",
      "The key's role is too low (`insufficient_role`) or its assistant scope excludes the object (`assistant_not_allowed`, `thread_not_allowed`, `key_not_allowed`, `scoped_key_not_allowed`).",
    ]);
  }
  if (params)
    out.push(["404", "No such object for this tenant (`<object>_not_found`, e.g. `run_not_found`)."]);
  if (op.idempotent) {
    out.push([
      "409",
      "`idempotency_key_reused`: the Idempotency-Key came with another body; or the thread/run is busy.",
    ]);
  }
  if (op.body || op.bodyKind)
    out.push(["413", "The body is too large (`body_too_large`, `file_too_large`)."]);
  if (op.auth === "key") {
    out.push([
      "429",
      "Rate limit, monthly quota or failed-authentication throttling (`rate_limited`, …): wait `Retry-After`.",
    ]);
  }
  return out;
}

function successContent(op: Operation, nameOf: (s: z.ZodType) => string | undefined): Json | undefined {
  if (op.response === "binary") {
    return { "*/*": { schema: { description: "The file's bytes, with the file's media type." } } };
  }
  if (op.response === "text") return { "*/*": { schema: {} } };
  if (op.response === "html") return { "text/html": { schema: { type: "string" } } };
  if (op.response === "sse")
    return {
      "text/event-stream": {
        schema: {
          type: "string",
          description:
            "Server-Sent Events: `id:` (the event id), `event:` (its type), `data:` (the event object as JSON).",
        },
      },
    };
  if (op.response === "any-json") return { "application/json": { schema: { type: "object" } } };
  const schema = ref(nameOf(op.response) as string);
  return {
    "application/json": { schema },
    ...(op.stream
      ? {
          "text/event-stream": {
            schema: { type: "string", description: "Assistants v2 events (with `stream: true`)." },
          },
        }
      : {}),
  };
}
