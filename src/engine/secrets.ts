/**
 * Secret-bearing fields are write-only. A value a caller sets in one — today a tool endpoint's
 * `headers` and a run's `callback_headers` — is stored to be sent on threadhook's own outbound
 * requests, and is never shown again after the request that set it: every response, callback and
 * stream shows the names with masked values, and logs never carry them (see docs/architecture.md,
 * "Secrets stay write-only"). A future secret-bearing field is presented through here too.
 */
import type { ToolDef } from "./types";

/** What a secret value is shown as. Sending it back in a modify keeps the stored value. */
export const MASKED = "********";

/** Header names with masked values. */
export const maskHeaders = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.keys(headers).map((name) => [name, MASKED]));

/** Tools as they are shown: an endpoint's header values masked. */
export function maskTools(tools: ToolDef[]): ToolDef[] {
  return tools.map((t) =>
    t.type === "function" && t.endpoint
      ? { ...t, endpoint: { ...t.endpoint, headers: maskHeaders(t.endpoint.headers) } }
      : t,
  );
}

/**
 * Tools from a modify request against the stored ones: a header whose value is MASKED keeps the
 * stored value of the same function's same header (a client may send back what it read). Returns
 * the path of a masked value with nothing stored behind it, or the tools with the values restored.
 */
export function restoreMasked(
  next: ToolDef[],
  stored: ToolDef[],
): { tools: ToolDef[]; unknown: null } | { tools: null; unknown: string } {
  const storedHeaders = new Map<string, Record<string, string>>();
  for (const t of stored)
    if (t.type === "function" && t.endpoint) storedHeaders.set(t.function.name, t.endpoint.headers);
  let unknown: string | null = null;
  const tools = next.map((t, i) => {
    if (t.type !== "function" || !t.endpoint) return t;
    const before = storedHeaders.get(t.function.name) ?? {};
    const headers = Object.fromEntries(
      Object.entries(t.endpoint.headers).map(([name, value]) => {
        if (value !== MASKED) return [name, value];
        const kept = before[name];
        if (kept === undefined) unknown ??= `tools.${i}.endpoint.headers.${name}`;
        return [name, kept ?? value];
      }),
    );
    return { ...t, endpoint: { ...t.endpoint, headers } };
  });
  return unknown === null ? { tools, unknown: null } : { tools: null, unknown };
}

/** Credentials (an integration's) as they are shown: their names, masked values. */
export const maskCredentials = maskHeaders;

/**
 * Credentials from a modify against the stored ones: a value that is MASKED keeps the stored one,
 * names not sent keep theirs. Returns the name of a masked value with nothing stored behind it.
 */
export function mergeCredentials(
  next: Record<string, string>,
  stored: Record<string, string>,
): { credentials: Record<string, string>; unknown: null } | { credentials: null; unknown: string } {
  const merged = { ...stored };
  for (const [name, value] of Object.entries(next)) {
    if (value !== MASKED) merged[name] = value;
    else if (stored[name] === undefined) return { credentials: null, unknown: name };
  }
  return { credentials: merged, unknown: null };
}
