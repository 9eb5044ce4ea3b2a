/**
 * The Slack stand-in (dev/slack/) answers the official `@slack/web-api` client as Slack does: the
 * calls threadhook makes (auth.test, chat.postMessage in a thread, chat.update), Slack's refusals as
 * `ok: false` with an `error`, rate limiting as 429 with Retry-After; response URLs take five posts.
 * The signer signs as Slack does: Slack's own documented example request gives its documented
 * signature, and threadhook's verifier accepts it.
 */
import { ErrorCode, WebClient } from "@slack/web-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLACK_DEV, type SlackHandle, startSlack } from "../../dev/slack/server.ts";
import { slackHeaders } from "../../dev/slack/signer.ts";
import { verifySlackRequest } from "../../src/integrations/slack/verify.ts";

let slack: SlackHandle;
let client: WebClient;
beforeAll(async () => {
  slack = await startSlack();
  client = new WebClient(SLACK_DEV.botToken, {
    slackApiUrl: `${slack.apiUrl}/`,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
});
afterAll(() => slack?.close());

describe("Slack stand-in with @slack/web-api", () => {
  it("auth.test names the workspace, the app and the bot", async () => {
    const r = await client.auth.test();
    expect(r).toMatchObject({
      ok: true,
      team_id: SLACK_DEV.teamId,
      app_id: SLACK_DEV.appId,
      user_id: SLACK_DEV.botUserId,
      bot_id: SLACK_DEV.botId,
    });
  });

  it("posts in a thread and updates the message, keeping what was posted", async () => {
    const posted = await client.chat.postMessage({
      channel: "C0DEV",
      thread_ts: "1700000000.000100",
      text: "*hi*",
    });
    expect(posted).toMatchObject({
      ok: true,
      channel: "C0DEV",
      message: { text: "*hi*", thread_ts: "1700000000.000100" },
    });
    expect(posted.ts).toMatch(/^\d+\.\d{6}$/);
    const updated = await client.chat.update({
      channel: "C0DEV",
      ts: posted.ts as string,
      text: "*hi* there",
    });
    expect(updated).toMatchObject({ ok: true, channel: "C0DEV", ts: posted.ts, text: "*hi* there" });
    const posts = slack.posts({ channel: "C0DEV" });
    expect(posts.map((p) => [p.kind, p.thread_ts, p.text])).toEqual([
      ["chat.postMessage", "1700000000.000100", "*hi*"],
      ["chat.update", "1700000000.000100", "*hi* there"],
    ]);
  });

  it("refuses as Slack does: ok false with the error, which the client throws as a platform error", async () => {
    const refused = async (p: Promise<unknown>) => {
      const err = (await p.then(
        () => null,
        (e: unknown) => e,
      )) as { code?: string; data?: { ok: boolean; error: string } } | null;
      return { code: err?.code, data: err?.data && { ok: err.data.ok, error: err.data.error } };
    };
    const platform = (error: string) => ({ code: ErrorCode.PlatformError, data: { ok: false, error } });
    const wrongToken = new WebClient("xoxb-not-the-dev-token", {
      slackApiUrl: `${slack.apiUrl}/`,
      retryConfig: { retries: 0 },
    });
    expect(await refused(wrongToken.auth.test())).toEqual(platform("invalid_auth"));
    expect(await refused(client.chat.postMessage({ channel: "C0DEV", text: "x".repeat(40_001) }))).toEqual(
      platform("msg_too_long"),
    );
    expect(await refused(client.chat.update({ channel: "C0DEV", ts: "1.000000", text: "x" }))).toEqual(
      platform("message_not_found"),
    );
    expect(await refused(client.chat.postMessage({ channel: "", text: "x" }))).toEqual(
      platform("channel_not_found"),
    );
    slack.failNext(1, "ratelimited");
    const limited = (await client.chat
      .postMessage({ channel: "C0DEV", text: "x" })
      .catch((e: unknown) => e)) as {
      code: string;
      retryAfter: number;
    };
    expect({ code: limited.code, retryAfter: limited.retryAfter }).toEqual({
      code: ErrorCode.RateLimitedError,
      retryAfter: 1,
    });
  });

  it("takes five posts on a response URL, then refuses it", async () => {
    const url = slack.responseUrl();
    const post = (text: string) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text }),
      });
    for (let i = 0; i < 5; i++) {
      const r = await post(`answer ${i}`);
      expect([r.status, await r.text()]).toEqual([200, "ok"]);
    }
    const sixth = await post("one too many");
    expect([sixth.status, await sixth.text()]).toEqual([404, "used_url"]);
    expect(slack.posts({ kind: "response_url" }).map((p) => p.text)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `answer ${i}`),
    );
  });
});

describe("the inbound signer", () => {
  // Slack's documented example ("Verifying requests from Slack"): its secret, timestamp and body.
  const secret = "8f742231b10e8888abcd99yyyzzz85a5";
  const body =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

  it("gives Slack's documented signature, which threadhook's verifier accepts within 5 minutes only", async () => {
    const headers = slackHeaders(secret, body, 1531420618);
    expect(headers["x-slack-signature"]).toBe(
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    );
    const at = 1531420618 * 1000;
    const h = new Headers(headers);
    expect(await verifySlackRequest(secret, h, body, at + 299_000)).toBe("ok");
    expect(await verifySlackRequest(secret, h, body, at + 301_000)).toBe("stale");
    expect(await verifySlackRequest(secret, h, `${body}&x=1`, at)).toBe("invalid");
    expect(await verifySlackRequest("another-secret", h, body, at)).toBe("invalid");
    expect(await verifySlackRequest(secret, new Headers(), body, at)).toBe("missing");
  });
});
