/**
 * Integrations (`/v1/integrations`): a chat bot (Slack, Discord) bound to one of the tenant's
 * assistants. The resource is type-agnostic; the adapter of each type (src/integrations/) checks
 * its credentials and options, handles the platform's inbound requests and posts the answers.
 * Credentials are write-only (engine/secrets.ts). Each integration has its own inbound URL,
 * `/v1/integrations/{id}/events`, which needs no API key: the adapter verifies the platform's
 * signature with the stored credentials instead.
 */
import type { z } from "zod";
import type { Config } from "../config";
import { maskCredentials, mergeCredentials } from "../engine/secrets";
import { ApiError, notFound } from "../errors";
import { adapterFor } from "../integrations";
import type { IntegrationType } from "../integrations/types";
import { assertAssistantAllowed, type Principal } from "../security/principal";
import { newId } from "../store/ids";
import type { IntegrationRecord, IntegrationStore } from "../store/integrations";
import { type ListParams, pageOf } from "../store/list";
import type { AssistantStore } from "../store/records";

export interface IntegrationDeps {
  config: Config;
  integrations: IntegrationStore;
  assistants: Pick<AssistantStore, "get">;
  /** Where this deployment is reached: the inbound URL is built on it. */
  baseUrl: string;
  now: () => number;
}

export interface IntegrationInput {
  type: IntegrationType;
  assistant_id: string;
  credentials: Record<string, string>;
  options: Record<string, unknown>;
  metadata: Record<string, string>;
}

export type IntegrationPatch = Partial<Omit<IntegrationInput, "type">>;

export const inboundPath = (id: string) => `/v1/integrations/${id}/events`;

/** An integration as every answer shows it: credentials by name only, and its inbound URL. */
export function presentIntegration(i: IntegrationRecord, baseUrl: string) {
  return {
    id: i.id,
    object: i.object,
    created_at: i.created_at,
    type: i.type,
    assistant_id: i.assistant_id,
    credentials: maskCredentials(i.credentials),
    options: i.options,
    metadata: i.metadata,
    inbound_url: `${baseUrl}${inboundPath(i.id)}`,
  };
}

/** A zod parse of an adapter's schema into a 400 naming the field (`credentials.bot_token`). */
function parseFor<T>(schema: z.ZodType<T>, value: unknown, param: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = [param, ...(issue?.path ?? []).map(String)].join(".");
  throw new ApiError(400, "invalid_value", `${path}: ${issue?.message ?? "invalid"}`, { param: path });
}

async function checkAssistant(deps: IntegrationDeps, principal: Principal, assistantId: string) {
  const assistant = await deps.assistants.get(principal.tenant, assistantId);
  if (!assistant) throw notFound("assistant", assistantId, "assistant_id");
  assertAssistantAllowed(principal, assistant.id, "assistant_id");
}

export async function createIntegration(
  deps: IntegrationDeps,
  principal: Principal,
  input: IntegrationInput,
) {
  const adapter = adapterFor(input.type);
  const credentials = parseFor(adapter.credentials, input.credentials, "credentials");
  const given = parseFor(adapter.options, input.options, "options");
  await checkAssistant(deps, principal, input.assistant_id);
  const options = await adapter.prepare(credentials, given, { config: deps.config });
  const record: IntegrationRecord = {
    id: newId("integ"),
    object: "integration",
    created_at: Math.floor(deps.now() / 1000),
    type: input.type,
    assistant_id: input.assistant_id,
    credentials,
    options,
    metadata: input.metadata,
  };
  const cap = deps.config.maxIntegrations;
  if (!(await deps.integrations.create(principal.tenant, record, cap)))
    throw new ApiError(
      429,
      "integration_limit",
      `A tenant may have at most ${cap} integrations; delete one first.`,
    );
  return presentIntegration(record, deps.baseUrl);
}

async function load(deps: Pick<IntegrationDeps, "integrations">, principal: Principal, id: string) {
  const i = await deps.integrations.get(principal.tenant, id);
  if (!i) throw notFound("integration", id, "integration_id");
  return i;
}

export async function getIntegration(deps: IntegrationDeps, principal: Principal, id: string) {
  return presentIntegration(await load(deps, principal, id), deps.baseUrl);
}

export async function listIntegrations(deps: IntegrationDeps, principal: Principal, params: ListParams) {
  const page = pageOf(await deps.integrations.list(principal.tenant), params);
  return { ...page, data: page.data.map((i) => presentIntegration(i, deps.baseUrl)) };
}

/**
 * Change an integration. Credentials merge by name; a value sent back masked keeps the stored one.
 * New credentials or options go through the adapter's `prepare` again, with the stored options
 * under the new ones (so what it learned before, such as Slack's team_id, stays unless replaced).
 */
export async function updateIntegration(
  deps: IntegrationDeps,
  principal: Principal,
  id: string,
  patch: IntegrationPatch,
) {
  const old = await load(deps, principal, id);
  const adapter = adapterFor(old.type as IntegrationType);
  let { credentials, options } = old;
  if (patch.credentials) {
    const merged = mergeCredentials(patch.credentials, old.credentials);
    if (!merged.credentials)
      throw new ApiError(
        400,
        "masked_value",
        `credentials.${merged.unknown} is the masked value "********" but nothing is stored under that name; send the real value.`,
        { param: `credentials.${merged.unknown}` },
      );
    credentials = parseFor(adapter.credentials, merged.credentials, "credentials");
  }
  if (patch.assistant_id) await checkAssistant(deps, principal, patch.assistant_id);
  if (patch.credentials || patch.options) {
    const given = parseFor(adapter.options, { ...old.options, ...patch.options }, "options");
    options = await adapter.prepare(credentials, given, { config: deps.config });
  }
  const next: IntegrationRecord = {
    ...old,
    credentials,
    options,
    assistant_id: patch.assistant_id ?? old.assistant_id,
    metadata: patch.metadata ?? old.metadata,
  };
  await deps.integrations.put(principal.tenant, next);
  return presentIntegration(next, deps.baseUrl);
}

export async function deleteIntegration(deps: IntegrationDeps, principal: Principal, id: string) {
  await load(deps, principal, id);
  await deps.integrations.delete(principal.tenant, id);
  return { id, object: "integration.deleted", deleted: true };
}
