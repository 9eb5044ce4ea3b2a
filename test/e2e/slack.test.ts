/**
 * Issue 20: a Slack bot through the whole local stack. Slack's side is played by the signer
 * (dev/slack/signer.ts) posting to the integration's inbound URL and by the Slack stand-in
 * (dev/slack/) taking the bot's posts. A mention in a thread → one run → one threaded reply in
 * mrkdwn; Slack's retry → no second run; a slash command answered through its response_url; a bad
 * or stale signature, or another workspace, refused with nothing run; a long answer split.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLACK_DEV } from "../../dev/slack/server.ts";
import {
  appMention,
  eventEnvelope,
  messageEvent,
  sendToInbound,
  slashCommand,
} from "../../dev/slack/signer.ts";
import type { E2E } from "../support/e2e";
import { startE2E } from "../support/e2e";

let e2e: E2E;
let inbound: string;
let integrationId: string;
beforeAll(async () => {
  e2e = await startE2E();
  const assistant = await e2e.createAssistant({ name: "slack bot" });
  // No team or app given: the integration learns them from auth.test with the bot token.
  const created = await e2e.api("POST", "/v1/integrations", {
    type: "slack",
    assistant_id: assistant.id,
    credentials: { signing_secret: SLACK_DEV.signingSecret, bot_token: SLACK_DEV.botToken },
  });
  expect(created.status).toBe(201);
  expect(created.body.options).toMatchObject({ team_id: SLACK_DEV.teamId, app_id: SLACK_DEV.appId });
  integrationId = created.body.id;
  inbound = created.body.inbound_url;
  expect(inbound).toBe(`${e2e.worker}/v1/integrations/${integrationId}/events`);
}, 60_000);
afterAll(async () => e2e?.close());

let seq = 0;
/** A fresh Slack message ts (seconds.micros), unique within the file. */
const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, "0")}`;
const send = (body: Record<string, unknown> | string, opts?: Parameters<typeof sendToInbound>[3]) =>
  sendToInbound(inbound, SLACK_DEV.signingSecret, body, opts);

/** The runs of the thread a Slack conversation key maps to (none: the key was never used). */
async function runsOn(key: string): Promise<string[]> {
  const thread = await e2e.api("GET", `/v1/conversations/${encodeURIComponent(key)}`);
  if (thread.status === 404) return [];
  const runs = await e2e.api("GET", `/v1/threads/${thread.body.id}/runs`);
  return runs.body.data.map((r: { id: string }) => r.id);
}

/** Wait until the run's answer was posted (its delivery is saved after the last post). */
async function waitDelivered(runId: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = (await e2e.api("GET", `/v1/runs/${runId}`)).body;
    if (run.delivery?.state === "delivered" || run.delivery?.state === "failed") return run;
    if (Date.now() > until) throw new Error(`run ${runId}: delivery still ${run.delivery?.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a Slack bot", () => {
  it("answers a challenge, and refuses a bad or stale signature or an unknown integration, running nothing", async () => {
    const challenge = await send({ token: "x", challenge: "c-123", type: "url_verification" });
    expect(challenge).toMatchObject({ status: 200, body: { challenge: "c-123" } });

    const channel = "C0REFUSED";
    const at = ts();
    const mention = eventEnvelope(appMention({ channel, ts: at, text: "hi" }));
    const raw = JSON.stringify(mention);
    const wrong = await sendToInbound(inbound, "not-the-signing-secret", mention);
    expect([wrong.status, wrong.body.error?.code]).toEqual([401, "invalid_signature"]);
    const stale = await send(mention, { timestampS: Math.floor(Date.now() / 1000) - 301 });
    expect([stale.status, stale.body.error?.code]).toEqual([401, "invalid_signature"]);
    const unsigned = await fetch(inbound, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: raw,
    });
    expect(unsigned.status).toBe(401);
    const other = await send(
      eventEnvelope(appMention({ channel, ts: at, text: "hi" }), { team_id: "T0OTHERTEAM" }),
    );
    expect([other.status, other.body.error?.code]).toEqual([403, "wrong_workspace"]);
    const unknown = await sendToInbound(
      `${e2e.worker}/v1/integrations/integ_unknown/events`,
      SLACK_DEV.signingSecret,
      mention,
    );
    expect(unknown.status).toBe(404);
    expect(await runsOn(`slack:${SLACK_DEV.teamId}:${channel}:${at}`)).toEqual([]);
  });

  it("answers a mention in a thread once, in the thread, in mrkdwn, also when Slack retries the event", async () => {
    const channel = "C0THREADS";
    const thread = ts();
    const markdown = "**Bold** and [a link](https://example.com)\\n\\n- one\\n- two";
    const at = ts();
    const event = eventEnvelope(
      appMention({ channel, ts: at, thread_ts: thread, text: `summarise #sim {"reply": "${markdown}"}` }),
    );
    const first = await send(event);
    expect(first.status).toBe(200);
    // Slack waits 3 s for the answer; the run is written and its step published before it.
    expect(first.ms).toBeLessThan(1000);
    // Slack retries when it saw no answer in 3 s: the same event, numbered.
    const retry = await send(event, {
      headers: { "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" },
    });
    expect(retry.status).toBe(200);
    // The same message as a `message` event too (the app subscribes to both): still the one run.
    const asMessage = await send(
      eventEnvelope(
        messageEvent({ channel, ts: at, thread_ts: thread, text: `<@${SLACK_DEV.botUserId}> summarise` }),
      ),
    );
    expect(asMessage.status).toBe(200);
    const key = `slack:${SLACK_DEV.teamId}:${channel}:${thread}`;
    const runs = await runsOn(key);
    expect(runs).toHaveLength(1);

    const [reply] = await e2e.slack.waitForPosts(1, { channel, timeoutMs: 20_000 });
    expect(reply).toMatchObject({ kind: "chat.postMessage", thread_ts: thread });
    expect(reply?.text).toContain("*Bold*");
    expect(reply?.text).toContain("<https://example.com|a link>");
    expect(reply?.text).toContain("• one\n• two");
    const run = await e2e.waitForRun(runs[0] as string, ["completed"]);
    expect(run.delivery).toMatchObject({
      state: "delivered",
      callback_url: null,
      integration_id: integrationId,
    });
    expect(run.metadata).toMatchObject({ integration_id: integrationId, slack_team: SLACK_DEV.teamId });
    expect(e2e.slack.posts({ channel })).toHaveLength(1);

    // A reply in that thread (the bot is in it) is a second run on the same conversation.
    const followUp = await send(
      eventEnvelope(messageEvent({ channel, ts: ts(), thread_ts: thread, text: "and more?" })),
    );
    expect(followUp.status).toBe(200);
    expect(await runsOn(key)).toHaveLength(2);
    const posts = await e2e.slack.waitForPosts(2, { channel, timeoutMs: 20_000 });
    expect(posts[1]?.text).toBe("echo: and more?");
  }, 60_000);

  it("ignores its own and other bots' messages and replies in threads it is not in", async () => {
    const channel = "C0IGNORED";
    const thread = ts();
    for (const event of [
      messageEvent({ channel, ts: ts(), thread_ts: thread, text: "not for the bot" }),
      messageEvent({ channel, ts: ts(), text: "a channel message", user: "U0SOMEONE" }),
      messageEvent({ channel, ts: ts(), channel_type: "im", text: "me", bot_id: SLACK_DEV.botId }),
      messageEvent({
        channel,
        ts: ts(),
        channel_type: "im",
        text: "beep",
        bot_id: "B0OTHERBOT",
        subtype: "bot_message",
      }),
      // An edit of a direct message (answered only with respond_to_edits).
      (() => {
        const edited = ts();
        return {
          ...messageEvent({ channel, ts: ts(), channel_type: "im", text: "" }),
          subtype: "message_changed",
          message: {
            type: "message",
            user: "U0PERSON01",
            text: "edited text",
            ts: edited,
            edited: { ts: ts() },
          },
        };
      })(),
    ]) {
      const r = await send(eventEnvelope(event));
      expect(r.status).toBe(200);
      // Intake is part of the answer: had the event started a run, its key would map to it now.
      const e = event as { ts: string; thread_ts?: string; message?: { ts: string } };
      const key = `slack:${SLACK_DEV.teamId}:${channel}:${e.thread_ts ?? e.message?.ts ?? e.ts}`;
      expect(await runsOn(key), JSON.stringify(event)).toEqual([]);
    }
    // A direct message is asked (and answered in a thread under it).
    const dm = ts();
    await send(
      eventEnvelope(messageEvent({ channel: "D0DIRECT", ts: dm, channel_type: "im", text: "hello bot" })),
    );
    const [answer] = await e2e.slack.waitForPosts(1, { channel: "D0DIRECT", timeoutMs: 20_000 });
    expect(answer).toMatchObject({ thread_ts: dm, text: "echo: hello bot" });
  }, 60_000);

  it("answers a slash command with an ephemeral ack at once and the answer through response_url", async () => {
    const responseUrl = e2e.slack.responseUrl();
    const ack = await send(
      slashCommand({ text: "what is up", channel: "C0COMMANDS", response_url: responseUrl }),
    );
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ response_type: "ephemeral", text: expect.stringMatching(/run_/) });
    const [answer] = await e2e.slack.waitForPosts(1, { kind: "response_url", timeoutMs: 20_000 });
    expect(answer?.text).toBe("echo: what is up");
    expect(answer?.args).toMatchObject({ response_type: "in_channel" });
    const usage = await send(slashCommand({ text: " ", channel: "C0COMMANDS", response_url: responseUrl }));
    expect(usage.body).toMatchObject({ response_type: "ephemeral", text: expect.stringContaining("/ask") });
  }, 60_000);

  it("splits a long answer over Slack's message limit, in order, in the thread", async () => {
    const channel = "C0LONG";
    const thread = ts();
    const paragraphs = Array.from({ length: 12 }, (_, i) => `Paragraph ${i}: ${"word ".repeat(80).trim()}.`);
    const reply = paragraphs.join("\\n\\n");
    await send(
      eventEnvelope(appMention({ channel, ts: thread, text: `long please #sim {"reply": "${reply}"}` })),
    );
    const [runId] = await runsOn(`slack:${SLACK_DEV.teamId}:${channel}:${thread}`);
    await waitDelivered(runId as string);
    const all = e2e.slack.posts({ channel });
    expect(all.length).toBe(2);
    for (const p of all) {
      expect(p.thread_ts).toBe(thread);
      expect(p.text.length).toBeLessThanOrEqual(3900);
    }
    const joined = all.map((p) => p.text).join("\n\n");
    for (const p of paragraphs) expect(joined).toContain(p);
    expect(all[0]?.text.startsWith("Paragraph 0")).toBe(true);
  }, 60_000);

  it("says a failed run in the thread with its id, and retries a post Slack refused, with the attempts on the run", async () => {
    const channel = "C0FAILURES";
    const failedAt = ts();
    await send(
      eventEnvelope(appMention({ channel, ts: failedAt, text: 'x #sim {"fail": {"code": "server_error"}}' })),
    );
    const [failed] = await runsOn(`slack:${SLACK_DEV.teamId}:${channel}:${failedAt}`);
    await waitDelivered(failed as string);
    const [sorry] = e2e.slack.posts({ channel, thread_ts: failedAt });
    expect(sorry?.text).toBe(
      `Sorry, I couldn't answer: something went wrong while answering. (Reference: \`${failed}\`)`,
    );

    // Slack limits the rate of the first post: the delivery tries again after its backoff.
    e2e.slack.failNext(1, "ratelimited");
    const limitedAt = ts();
    await send(eventEnvelope(appMention({ channel, ts: limitedAt, text: "second" })));
    const [limited] = await runsOn(`slack:${SLACK_DEV.teamId}:${channel}:${limitedAt}`);
    const run = await waitDelivered(limited as string);
    expect(run.delivery.state).toBe("delivered");
    expect(
      run.delivery.attempts.map((a: { status: number | null; error: string | null }) => [a.status, a.error]),
    ).toEqual([
      [429, "Slack: HTTP 429"],
      [200, null],
    ]);
    expect(e2e.slack.posts({ channel, thread_ts: limitedAt }).map((p) => p.text)).toEqual(["echo: second"]);
  }, 60_000);

  it("lists the files the code interpreter made as download links under the answer", async () => {
    const coder = await e2e.createAssistant({ name: "coder", tools: [{ type: "code_interpreter" }] });
    const made = await e2e.api("POST", "/v1/integrations", {
      type: "slack",
      assistant_id: coder.id,
      credentials: { signing_secret: SLACK_DEV.signingSecret, bot_token: SLACK_DEV.botToken },
      options: { team_id: SLACK_DEV.teamId, app_id: SLACK_DEV.appId },
    });
    const channel = "C0FILES";
    const at = ts();
    const mention = appMention({
      channel,
      ts: at,
      text: 'chart #sim {"code_interpreter": {"files": ["chart.png"]}}',
    });
    await sendToInbound(made.body.inbound_url, SLACK_DEV.signingSecret, eventEnvelope(mention));
    const [post] = await e2e.slack.waitForPosts(1, { channel, timeoutMs: 20_000 });
    const link = /\*Files:\*\n• <([^|>]+)\|chart\.png>/.exec(post?.text ?? "")?.[1];
    expect(link, post?.text).toMatch(new RegExp(`^${e2e.worker}/v1/files/file-[^/]+/download\\?`));
    const png = await fetch((link as string).replaceAll("&amp;", "&"));
    expect([png.status, png.headers.get("content-type")]).toEqual([200, "image/png"]);
  }, 60_000);

  it("shows the credentials masked and never in an answer", async () => {
    const shown = await e2e.api("GET", `/v1/integrations/${integrationId}`);
    expect(shown.body.credentials).toEqual({ signing_secret: "********", bot_token: "********" });
    const text = JSON.stringify((await e2e.api("GET", "/v1/integrations")).body);
    expect(text).not.toContain(SLACK_DEV.botToken);
    expect(text).not.toContain(SLACK_DEV.signingSecret);
  });
});
