/**
 * Validation of tool definitions (assistants and per-run overrides): the Assistants shapes plus
 * threadhook's `endpoint` on functions. Endpoint URLs go through the outbound URL policy.
 */
import { z } from "zod";
import type { ToolDef } from "../engine/types";
import { ApiError } from "../errors";
import { checkOutboundUrl } from "../security/url-policy";
import { MAX_SCHEMA_BYTES, MAX_TOOLS } from "./limits";

const JSON_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"];
const RESERVED_HEADERS =
  /^(host|content-type|content-length|connection|transfer-encoding|user-agent|webhook-.*)$/i;

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

const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

/** Semantic checks zod cannot do alone; returns the stored form (endpoint defaults filled in). */
export function checkTools(tools: z.infer<typeof Tools>, devMode: boolean, param = "tools"): ToolDef[] {
  const names = new Set<string>();
  return tools.map((t, i) => {
    if (t.type !== "function") return t as ToolDef;
    if (names.has(t.function.name)) {
      throw new ApiError(
        400,
        "duplicate_tool_name",
        `Duplicate function name '${t.function.name}' in ${param}.`,
        { param: `${param}.${i}.function.name` },
      );
    }
    names.add(t.function.name);
    if (!t.endpoint) return t as ToolDef;
    const verdict = checkOutboundUrl(t.endpoint.url, { devMode });
    if (!verdict.ok) {
      throw new ApiError(
        400,
        `endpoint_url_${verdict.reason}`,
        `${param}.${i}.endpoint.url refused: ${verdict.message}`,
        { param: `${param}.${i}.endpoint.url` },
      );
    }
    return {
      ...t,
      endpoint: {
        url: verdict.url.href,
        headers: t.endpoint.headers ?? {},
        timeout_ms: t.endpoint.timeout_ms ?? DEFAULT_TOOL_TIMEOUT_MS,
      },
    } as ToolDef;
  });
}
