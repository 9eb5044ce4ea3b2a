/** Test fixtures for files: an upload through the API, a vector store holding it, a batch of it. */
type Send = (path: string, init: RequestInit) => Promise<Response>;

async function call(send: Send, key: string, path: string, init: RequestInit) {
  const res = await send(path, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string> | undefined) },
  });
  const body = (await res.json()) as any;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** `POST /v1/files` with a multipart body, as the SDK sends it. */
export function uploadFile(
  send: Send,
  key: string,
  name: string,
  content: string | Uint8Array<ArrayBuffer>,
  purpose = "assistants",
): Promise<{ id: string; bytes: number }> {
  const form = new FormData();
  form.set("purpose", purpose);
  form.set("file", new File([content], name));
  return call(send, key, "/v1/files", { method: "POST", body: form });
}

/** A file, a vector store holding it and a file batch of it, all the key's tenant's. */
export async function fileFixtures(send: Send, key: string, marker: string) {
  const file = await uploadFile(send, key, `${marker}.txt`, `private file ${marker}`);
  const json = { "content-type": "application/json" };
  const store = await call(send, key, "/v1/vector_stores", {
    method: "POST",
    headers: json,
    body: JSON.stringify({ name: marker, file_ids: [file.id] }),
  });
  const batch = await call(send, key, `/v1/vector_stores/${store.id}/file_batches`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ file_ids: [file.id] }),
  });
  return { file: file.id as string, vectorStore: store.id as string, batch: batch.id as string };
}

/** A schedule of the key's tenant (paused, yearly: it never fires in a test). */
export async function scheduleFixture(send: Send, key: string, assistantId: string, callbackUrl: string) {
  const res = await send("/v1/schedules", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      cron: "0 0 1 1 *",
      enabled: false,
      assistant_id: assistantId,
      input: "fixture",
      callback_url: callbackUrl,
    }),
  });
  const body = (await res.json()) as any;
  if (res.status !== 201) throw new Error(`/v1/schedules: ${res.status} ${JSON.stringify(body)}`);
  return { schedule: body.id as string };
}

/** A Slack integration of the tenant's (team and app given: no call to Slack's auth.test). */
export const slackIntegrationBody = (assistantId: string, secret = "fixture-signing-secret") => ({
  type: "slack",
  assistant_id: assistantId,
  credentials: { signing_secret: secret, bot_token: `xoxb-${secret.replace(/[^A-Za-z0-9-]/g, "-")}` },
  options: { team_id: "T0FIXTURE", app_id: "A0FIXTURE" },
});

export async function integrationFixture(send: Send, key: string, assistantId: string) {
  const res = await send("/v1/integrations", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(slackIntegrationBody(assistantId)),
  });
  const body = (await res.json()) as any;
  if (res.status !== 201) throw new Error(`/v1/integrations: ${res.status} ${JSON.stringify(body)}`);
  return { integration: body.id as string };
}
