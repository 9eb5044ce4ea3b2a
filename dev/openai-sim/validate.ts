// Request validation with upstream-like 400s (missing_required_parameter, invalid_type, …).
import { invalidParam, missingParam, SimError } from "./http.ts";

export type CreateParams = {
  model: string;
  instructions?: string | null;
  conversation?: string;
  previous_response_id?: string;
  tools?: Record<string, unknown>[];
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  max_output_tokens?: number;
  temperature?: number;
  top_p?: number;
  metadata?: Record<string, string>;
  store?: boolean;
  background?: boolean;
  stream?: boolean;
  /** Set by createResponse (context-window.ts `truncationOf`). */
  truncation?: "auto" | "disabled";
};

const typeError = (param: string, expected: string, value: unknown): SimError =>
  new SimError(
    400,
    `Invalid type for '${param}': expected ${expected}, but got ${describe(value)} instead.`,
    {
      param,
      code: "invalid_type",
    },
  );

const describe = (value: unknown): string =>
  Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`;

export function validateCreate(body: Record<string, unknown>, requireInput = false): CreateParams {
  if (typeof body.model !== "string" || body.model === "") throw missingParam("model");
  const params: CreateParams = { model: body.model };
  if (
    body.instructions !== undefined &&
    body.instructions !== null &&
    typeof body.instructions !== "string"
  ) {
    throw typeError("instructions", "a string", body.instructions);
  }
  params.instructions = (body.instructions as string | null | undefined) ?? null;
  const conversation = conversationId(body.conversation);
  if (conversation !== undefined) params.conversation = conversation;
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    if (typeof body.previous_response_id !== "string") {
      throw typeError("previous_response_id", "a string", body.previous_response_id);
    }
    params.previous_response_id = body.previous_response_id;
  }
  if (params.conversation !== undefined && params.previous_response_id !== undefined) {
    throw new SimError(
      400,
      "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
      { code: "mutually_exclusive_parameters" },
    );
  }
  // The published spec requires no field: a response on a conversation (or after a previous one)
  // may come from that context alone. With neither, there is nothing to answer.
  const noInput = body.input === undefined || body.input === null;
  const context = params.conversation !== undefined || params.previous_response_id !== undefined;
  if (noInput && (requireInput || !context)) throw missingParam("input");
  if (body.tools !== undefined && body.tools !== null) params.tools = validateTools(body.tools);
  if (body.tool_choice !== undefined && body.tool_choice !== null) params.tool_choice = body.tool_choice;
  for (const key of ["parallel_tool_calls", "store", "background", "stream"] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "boolean") throw typeError(key, "a boolean", value);
    params[key] = value;
  }
  numbers(body, params);
  modelParameters(body, params.model);
  const metadata = validateMetadata(body.metadata, "metadata");
  if (metadata) params.metadata = metadata;
  return params;
}

function conversationId(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  const id = (value as { id?: unknown }).id;
  if (typeof value === "object" && typeof id === "string") return id;
  throw typeError("conversation", "a string or an object with an id", value);
}

function validateTools(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw typeError("tools", "an array", value);
  return value.map((tool, i) => {
    if (!tool || typeof tool !== "object") throw typeError(`tools[${i}]`, "an object", tool);
    const t = tool as Record<string, unknown>;
    if (typeof t.type !== "string") throw missingParam(`tools[${i}].type`);
    // The flat Responses shape: `{ type: "function", name, parameters }`, not Chat's nested `function: {…}`.
    if (t.type === "function" && typeof t.name !== "string") throw missingParam(`tools[${i}].name`);
    return t;
  });
}

/**
 * Reasoning models (o-series, gpt-5 except its chat variants) refuse sampling parameters, and other
 * models refuse `reasoning`, as OpenAI does ("Unsupported parameter: … is not supported with this
 * model.").
 */
function modelParameters(body: Record<string, unknown>, model: string): void {
  const reasoningModel = /^(o\d|gpt-5(?!.*-chat)|codex-)/.test(model.replace(/^ft:/, ""));
  const refused = reasoningModel
    ? (["temperature", "top_p"] as const).filter((k) => body[k] !== undefined && body[k] !== null)
    : body.reasoning !== undefined && body.reasoning !== null
      ? ["reasoning.effort"]
      : [];
  const param = refused[0];
  if (param === undefined) return;
  throw new SimError(400, `Unsupported parameter: '${param}' is not supported with this model.`, {
    param,
    code: "unsupported_parameter",
  });
}

function numbers(body: Record<string, unknown>, params: CreateParams): void {
  const ranges = [
    ["temperature", 0, 2, "decimal"],
    ["top_p", 0, 1, "decimal"],
    ["max_output_tokens", 16, Number.MAX_SAFE_INTEGER, "integer"],
  ] as const;
  for (const [key, min, max, kind] of ranges) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number" || (kind === "integer" && !Number.isInteger(value))) {
      throw typeError(key, kind === "integer" ? "an integer" : "a decimal", value);
    }
    if (value < min) {
      throw invalidParam(
        key,
        `${kind} below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
        `${kind}_below_min_value`,
      );
    }
    if (value > max) {
      throw invalidParam(
        key,
        `${kind} above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
        `${kind}_above_max_value`,
      );
    }
    params[key] = value;
  }
}

/** At most 16 string values, keys ≤ 64 and values ≤ 512 characters. */
export function validateMetadata(value: unknown, param: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw typeError(param, "an object", value);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16) {
    throw invalidParam(
      param,
      `too many properties. Expected an object with at most 16 properties, but got an object with ${entries.length} properties instead.`,
      "object_above_max_properties",
    );
  }
  for (const [key, v] of entries) {
    if (typeof v !== "string") throw typeError(`${param}.${key}`, "a string", v);
    if (key.length > 64 || v.length > 512) {
      throw invalidParam(`${param}.${key}`, "keys are limited to 64 and values to 512 characters.");
    }
  }
  return value as Record<string, string>;
}
