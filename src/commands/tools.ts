/**
 * Tool definitions as assistants and runs store them: semantic checks zod cannot do alone (unique
 * function names; endpoint URLs through the outbound URL policy) and endpoint defaults filled in.
 */
import { MASKED } from "../engine/secrets";
import type { ToolDef } from "../engine/types";
import { ApiError } from "../errors";
import { checkOutboundUrl } from "../security/url-policy";

const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

/** A tool as the request schemas (api/schemas.ts) let it through. */
export interface ToolInput {
  type: string;
  function?: { name: string };
  endpoint?: { url: string; headers?: Record<string, string> | undefined; timeout_ms?: number | undefined };
}

/**
 * `allowMasked`: a header may carry the masked placeholder (an assistant modify, which then keeps the
 * stored value: engine/secrets.ts restoreMasked); anywhere else it is refused, there is nothing to keep.
 */
export function checkTools(
  tools: readonly ToolInput[],
  devMode: boolean,
  param = "tools",
  allowMasked = false,
): ToolDef[] {
  const names = new Set<string>();
  return tools.map((t, i) => {
    if (t.type === "retrieval") return { type: "file_search" } as ToolDef; // Assistants v1
    if (t.type !== "function" || !t.function) return t as unknown as ToolDef;
    if (names.has(t.function.name)) {
      throw new ApiError(
        400,
        "duplicate_tool_name",
        `Duplicate function name '${t.function.name}' in ${param}.`,
        { param: `${param}.${i}.function.name` },
      );
    }
    names.add(t.function.name);
    if (!t.endpoint) return t as unknown as ToolDef;
    const masked = Object.entries(t.endpoint.headers ?? {}).find(([, v]) => v === MASKED);
    if (masked && !allowMasked) throw maskedValue(`${param}.${i}.endpoint.headers.${masked[0]}`);
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
    } as unknown as ToolDef;
  });
}

/** A masked placeholder sent where no stored value stands behind it. */
export const maskedValue = (param: string) =>
  new ApiError(
    400,
    "masked_value",
    `${param} is the masked placeholder '${MASKED}': send the real value (secret values are never shown, so a modify that sends the placeholder back keeps the stored one).`,
    { param },
  );
