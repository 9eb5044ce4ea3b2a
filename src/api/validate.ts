/** Request parsing for every route: JSON body → zod schema → 400 with a code, message and param. */
import type { Context } from "hono";
import { z } from "zod";
import { ApiError } from "../errors";
import { sha256Hex } from "../security/credentials";
import { MAX_JSON_DEPTH } from "./limits";

async function readJson(c: Context): Promise<unknown> {
  return parseJsonText(await c.req.text());
}

export function parseJsonText(text: string): unknown {
  if (text.trim() === "") return {};
  if (mayNestDeeper(text, MAX_JSON_DEPTH) && jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ApiError(
      400,
      "json_too_deep",
      `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  }
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

/**
 * Whether `text` has more than `max` `[` and `{` in all (inside strings too): only then can it
 * nest deeper than `max`, and only then is the walk of `jsonDepth` worth its CPU (most bodies have a
 * handful; the runtime's native `indexOf` finds them without a JavaScript loop over every character).
 */
export function mayNestDeeper(text: string, max: number): boolean {
  let n = 0;
  for (const opener of ["[", "{"]) {
    for (let i = text.indexOf(opener); i !== -1; i = text.indexOf(opener, i + 1)) if (++n > max) return true;
  }
  return false;
}

/** Deepest nesting of `[`/`{` outside strings, counted in one pass before anything is parsed. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) max = Math.max(max, ++depth);
    else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return max;
}

export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  if (!first) throw new ApiError(400, "invalid_request", "Invalid request.");
  const issue = unwrapUnion(first);
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
  if (missing) {
    throw new ApiError(400, "missing_required_parameter", `Missing required parameter: '${param}'.`, {
      param,
    });
  }
  throw new ApiError(400, issueCode(issue), `Invalid '${param ?? "body"}': ${issue.message}.`, { param });
}

/** A union none of whose branches matched: the branch that got past the type check says why. */
function unwrapUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union") return issue;
  const inner = issue.errors.flat().find((i) => i.code !== "invalid_type");
  return inner ? unwrapUnion({ ...inner, path: [...issue.path, ...inner.path] }) : issue;
}

/** The error code for a failed check: limits get their own codes, the rest is `invalid_value`. */
function issueCode(issue: z.core.$ZodIssue): string {
  const custom = issue.code === "custom" ? (issue.params as { code?: unknown } | undefined)?.code : null;
  if (typeof custom === "string") return custom;
  if (issue.path.includes("metadata")) return "invalid_metadata";
  if (issue.code !== "too_big") return "invalid_value";
  if (issue.origin === "string") return "string_too_long";
  if (issue.origin === "array" && issue.path.at(-1) === "tools") return "too_many_tools";
  if (issue.origin === "array") return "too_many_items";
  return "invalid_value";
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
