/**
 * `/v1/integrations` as a resource: what a create checks (the adapter's credentials and options,
 * Slack's auth.test through the stand-in, the assistant, the cap), what every answer shows
 * (credentials by name, masked; the inbound URL), how a PATCH merges credentials, and the inbound
 * URL of a deleted integration.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLACK_DEV } from "../../dev/slack/server.ts";
import { slackHeaders } from "../../dev/slack/signer.ts";
import { type InProcess, startInProcess } from "../support/in-process";

let t: InProcess;
let assistant: string;
beforeAll(async () => {
  t = await startInProcess({ vars: { MAX_INTEGRATIONS_PER_TENANT: "3" } });
  assistant = (await t.api("POST", "/v1/assistants", { model: "gpt-sim" })).body.id;
});
afterAll(() => t?.close());

const slack = (extra: Record<string, unknown> = {}) => ({
  type: "slack",
  assistant_id: assistant,
  credentials: { signing_secret: SLACK_DEV.signingSecret, bot_token: SLACK_DEV.botToken },
  ...extra,
});
const err = (r: { status: number; body: any }) => [r.status, r.body.error?.code, r.body.error?.param];

describe("/v1/integrations", () => {
  it("learns team and app from auth.test, shows credentials masked and the inbound URL", async () => {
    const r = await t.api("POST", "/v1/integrations", slack());
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      object: "integration",
      type: "slack",
      credentials: { signing_secret: "********", bot_token: "********" },
      options: {
        team_id: SLACK_DEV.teamId,
        app_id: SLACK_DEV.appId,
        bot_user_id: SLACK_DEV.botUserId,
        bot_id: SLACK_DEV.botId,
        respond_to_bots: false,
      },
      inbound_url: `http://127.0.0.1:9/v1/integrations/${r.body.id}/events`,
    });
    expect(t.stack.slack.calls()["auth.test"]).toBe(1);
    await t.api("DELETE", `/v1/integrations/${r.body.id}`);
  });

  it("refuses bad credentials, options, a token Slack refuses, an unknown assistant, a type not available", async () => {
    const badToken = await t.api(
      "POST",
      "/v1/integrations",
      slack({ credentials: { signing_secret: "s3cretvalue", bot_token: "nope" } }),
    );
    expect(err(badToken)).toEqual([400, "invalid_value", "credentials.bot_token"]);
    const missing = await t.api(
      "POST",
      "/v1/integrations",
      slack({ credentials: { bot_token: SLACK_DEV.botToken } }),
    );
    expect(err(missing)).toEqual([400, "invalid_value", "credentials.signing_secret"]);
    const option = await t.api("POST", "/v1/integrations", slack({ options: { slash_response: "loud" } }));
    expect(err(option)).toEqual([400, "invalid_value", "options.slash_response"]);
    const refused = await t.api(
      "POST",
      "/v1/integrations",
      slack({ credentials: { signing_secret: "s3cretvalue", bot_token: "xoxb-not-the-dev-token" } }),
    );
    expect(err(refused)).toEqual([400, "slack_auth_failed", "credentials.bot_token"]);
    const noAssistant = await t.api("POST", "/v1/integrations", slack({ assistant_id: "asst_missing" }));
    expect(err(noAssistant)).toEqual([404, "assistant_not_found", "assistant_id"]);
    const discord = await t.api("POST", "/v1/integrations", {
      type: "teams",
      assistant_id: assistant,
      credentials: { x: "y" },
    });
    expect(discord.status).toBe(400);
  });

  it("merges credentials on PATCH, keeps a masked value, refuses a masked value with nothing behind it", async () => {
    const given = { team_id: SLACK_DEV.teamId, app_id: SLACK_DEV.appId };
    const created = (await t.api("POST", "/v1/integrations", slack({ options: given }))).body;
    const read = (await t.api("GET", `/v1/integrations/${created.id}`)).body;
    // What a client does: send back what it read, with one value changed.
    const patched = await t.api("PATCH", `/v1/integrations/${created.id}`, {
      credentials: { ...read.credentials, signing_secret: "a-new-signing-secret" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.credentials).toEqual({ signing_secret: "********", bot_token: "********" });
    // The new secret verifies the platform's requests now, the old one no more.
    const challenge = { type: "url_verification", challenge: "c" };
    const send = (secret: string) =>
      t.app.request(
        created.inbound_url.replace("http://127.0.0.1:9", "http://threadhook.test"),
        {
          method: "POST",
          headers: { "content-type": "application/json", ...signed(secret, challenge) },
          body: JSON.stringify(challenge),
        },
        t.env,
      );
    expect((await send("a-new-signing-secret")).status).toBe(200);
    expect((await send(SLACK_DEV.signingSecret)).status).toBe(401);
    const unknown = await t.api("PATCH", `/v1/integrations/${created.id}`, {
      credentials: { other: "********" },
    });
    expect(err(unknown)).toEqual([400, "masked_value", "credentials.other"]);
    // Deleted: its inbound URL is unknown.
    await t.api("DELETE", `/v1/integrations/${created.id}`);
    expect((await send("a-new-signing-secret")).status).toBe(404);
  });

  it("holds the tenant to its cap", async () => {
    const given = { options: { team_id: SLACK_DEV.teamId, app_id: SLACK_DEV.appId } };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.api("POST", "/v1/integrations", slack(given))).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const listed = await t.api("GET", "/v1/integrations");
    expect(listed.body.data).toHaveLength(3);
  });
});

const signed = (secret: string, body: unknown) => slackHeaders(secret, JSON.stringify(body));
