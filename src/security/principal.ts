/**
 * Who a request acts as, once its key is resolved (security/auth.ts): tenant, role, and the
 * assistants the key is scoped to. Pure: commands and routes check scopes with these helpers.
 */
import { ApiError } from "../errors";
import type { Role } from "./roles";

export const DEFAULT_TENANT = "default";
/** The key id the bootstrap key (config API_KEY) is known by. */
export const BOOTSTRAP_KEY_ID = "bootstrap";

export interface Principal {
  tenant: string;
  keyId: string;
  role: Role;
  /** Assistants the key may use; null = every assistant of its tenant. */
  assistantIds: string[] | null;
  /** Requests per minute; null = RATE_LIMIT_PER_MIN. */
  rateLimitPerMin: number | null;
}

export const keyMayUse = (p: Pick<Principal, "assistantIds">, assistantId: string) =>
  p.assistantIds === null || p.assistantIds.includes(assistantId);

/** A scope (null: every assistant) that is no wider than the key's own. */
export const withinScope = (p: Pick<Principal, "assistantIds">, scope: string[] | null) => {
  const mine = p.assistantIds;
  return mine === null || (scope?.every((id) => mine.includes(id)) ?? false);
};

export function assertAssistantAllowed(
  p: Pick<Principal, "assistantIds">,
  assistantId: string,
  param = "assistant_id",
): void {
  if (!keyMayUse(p, assistantId)) {
    throw new ApiError(403, "assistant_not_allowed", "This key may not use this assistant.", { param });
  }
}
