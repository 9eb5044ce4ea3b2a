/** Test fixtures for tenancy: a tenant holding one of each object the route table can name. */
import { expect } from "vitest";
import { type E2E, hookPath } from "./e2e";
import { fileFixtures, integrationFixture, scheduleFixture } from "./files";
import type { TenantIds } from "./routes";

export type PopulatedTenant = Awaited<ReturnType<typeof populatedTenant>>;

/** A tenant with an admin key and one of each object the routes can name. */
export async function populatedTenant(e2e: E2E, marker: string) {
  const tenant = await e2e.createTenant({ name: `tenant ${marker}` });
  const admin = await tenant.issue("admin");
  const assistant = await e2e.createAssistant({ name: marker, instructions: `secret ${marker}` }, admin.api);
  const conversation = `conv:${marker}:${Date.now()}`;
  const callbackUrl = `${e2e.inbox.url}${hookPath(marker)}`;
  const run = await admin.api("POST", "/v1/messages", {
    assistant_id: assistant.id,
    conversation,
    input: `private text ${marker}`,
    callback_url: callbackUrl,
    metadata: { marker },
  });
  expect(run.status).toBe(202);
  const [message] = (await admin.api("GET", `/v1/threads/${run.body.thread_id}/messages`)).body.data;
  const member = await tenant.issue("member", { name: marker });
  const files = await fileFixtures((path, init) => fetch(`${e2e.worker}${path}`, init), admin.key, marker);
  const schedule = await scheduleFixture(
    (path, init) => fetch(`${e2e.worker}${path}`, init),
    admin.key,
    assistant.id,
    callbackUrl,
  );
  const integration = await integrationFixture(
    (path, init) => fetch(`${e2e.worker}${path}`, init),
    admin.key,
    assistant.id,
  );
  const ids: TenantIds = {
    ...files,
    ...schedule,
    ...integration,
    assistant: assistant.id,
    thread: run.body.thread_id,
    run: run.body.id,
    conversation,
    message: message.id,
    key: member.id,
    callbackUrl,
  };
  return { tenant, admin, ids };
}
