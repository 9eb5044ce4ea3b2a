/**
 * `/v1/integrations`: chat bots (Slack, Discord) on the tenant's assistants (commands/integrations.ts),
 * tenant-wide keys only; and each integration's inbound URL, `POST /v1/integrations/{id}/events`,
 * which takes no API key: the platform signs its requests and the adapter verifies that.
 */
import { Hono } from "hono";
import { z } from "zod";
import { receiveInbound } from "../../commands/integration-inbound";
import {
  createIntegration,
  deleteIntegration,
  getIntegration,
  type IntegrationInput,
  type IntegrationPatch,
  listIntegrations,
  updateIntegration,
} from "../../commands/integrations";
import type { AppEnv } from "../../deps";
import { INTEGRATION_TYPES } from "../../integrations/types";
import { type AuthedEnv, requireKey, requireRole, requireUnscoped } from "../../security/auth";
import { Id, ListQuery, Metadata } from "../schemas";
import { parseBody, parseQuery } from "../validate";

/** Credential values by name (each type's adapter checks which names it takes). Write-only. */
const Credentials = z.record(z.string().min(1).max(64), z.string().min(1).max(1024));
const Options = z.record(z.string().min(1).max(64), z.unknown());

export const IntegrationCreate = z.strictObject({
  type: z.enum(INTEGRATION_TYPES),
  assistant_id: Id,
  credentials: Credentials,
  options: Options.default({}),
  metadata: Metadata.default({}),
});

export const IntegrationUpdate = z.strictObject({
  assistant_id: Id.optional(),
  credentials: Credentials.optional(),
  options: Options.optional(),
  metadata: Metadata.optional(),
});

export const IntegrationsQuery = ListQuery.extend({ order: z.enum(["asc", "desc"]).default("asc") });

const managed = new Hono<AuthedEnv>()
  .post("/", requireKey, requireRole("editor"), requireUnscoped, async (c) => {
    const body = (await parseBody(c, IntegrationCreate)) as IntegrationInput;
    return c.json(await createIntegration(c.var.deps, c.var.principal, body), 201);
  })
  .get("/", requireKey, requireUnscoped, async (c) =>
    c.json(await listIntegrations(c.var.deps, c.var.principal, parseQuery(c, IntegrationsQuery))),
  )
  .get("/:id", requireKey, requireUnscoped, async (c) =>
    c.json(await getIntegration(c.var.deps, c.var.principal, c.req.param("id"))),
  )
  .patch("/:id", requireKey, requireRole("editor"), requireUnscoped, async (c) => {
    const body = (await parseBody(c, IntegrationUpdate)) as IntegrationPatch;
    return c.json(await updateIntegration(c.var.deps, c.var.principal, c.req.param("id"), body));
  })
  .delete("/:id", requireKey, requireRole("editor"), requireUnscoped, async (c) =>
    c.json(await deleteIntegration(c.var.deps, c.var.principal, c.req.param("id"))),
  );

/** The platform's requests: no API key; the adapter checks the signature (401 otherwise). */
const inbound = new Hono<AppEnv>().post("/:id/events", async (c) => {
  const res = await receiveInbound(
    c.var.deps,
    c.req.param("id"),
    { headers: c.req.raw.headers, body: await c.req.text() },
    (task) => background(c, task),
  );
  return typeof res.body === "string"
    ? c.text(res.body, res.status, res.headers)
    : c.json(res.body, res.status, res.headers);
});

/** After the answer: Workers' waitUntil; where there is none (a test's app.request), it just runs. */
function background(c: { executionCtx: { waitUntil(p: Promise<unknown>): void } }, task: Promise<unknown>) {
  try {
    c.executionCtx.waitUntil(task);
  } catch {
    void task;
  }
}

export const integrationsApi = new Hono<AuthedEnv>().route("/", inbound).route("/", managed);
