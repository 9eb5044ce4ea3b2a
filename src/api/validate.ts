/** Request parsing for every route: JSON body → zod schema → 400 with a code, message and param. */
import type { Context } from "hono";
import { z } from "zod";
import { ApiError } from "../errors";

export const Metadata = z
  .record(
    z.string().max(64, "metadata keys are at most 64 characters"),
    z.string().max(512, "metadata values are at most 512 characters"),
  )
  .refine((m) => Object.keys(m).length <= 16, "metadata has at most 16 keys");

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(["asc", "desc"]).default("desc"),
  after: z.string().max(128).optional(),
  before: z.string().max(128).optional(),
});

export async function readJson(c: Context): Promise<unknown> {
  return parseJsonText(await c.req.text());
}

export function parseJsonText(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON.");
  }
}

const IdempotencyKey = z.string().min(1).max(255);

/** `Idempotency-Key` with a hash of the body it came with (same key + other body → 409). */
export async function idempotencyOf(
  c: Context,
  body: string,
): Promise<{ key: string; bodyHash: string } | null> {
  const header = c.req.header("idempotency-key");
  return header ? { key: parse(IdempotencyKey, header), bodyHash: await sha256Hex(body) } : null;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ApiError(400, "invalid_request", "Invalid request.");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const param = [...issue.path, key].join(".");
    throw new ApiError(400, "unknown_parameter", `Unrecognized request argument supplied: ${param}`, {
      param,
    });
  }
  const param = issue.path.join(".") || null;
  // zod 4 leaves `issue.input` out by default, so look the value up in the input itself.
  const missing = valueAt(input, issue.path) === undefined;
  const message = missing
    ? `Missing required parameter: '${param}'.`
    : `Invalid '${param ?? "body"}': ${issue.message}.`;
  throw new ApiError(400, missing ? "missing_required_parameter" : "invalid_value", message, { param });
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parse(schema, await readJson(c));
}

export const parseQuery = <S extends z.ZodType>(c: Context, schema: S): z.infer<S> =>
  parse(schema, c.req.query());
