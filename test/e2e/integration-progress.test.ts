/**
 * Issue 20 with progress events (issue 18 part 2): a chat bot whose assistant asks for
 * `message.delta` shows the answer as it is written.
 * - Slack: a mention → one placeholder `chat.postMessage` in the thread → `chat.update`s of that
 *   same message with the text so far, growing → the final answer replaces it (a short answer: no
 *   second message; a long one: its first part replaces the placeholder and the rest follow as new
 *   messages in the thread).
 * - Discord: a slash command → the deferred "thinking…" response edited with the text so far →
 *   the answer replaces it; past the interaction token's life nothing is edited.
 * What the platforms "saw" is their stand-ins' record of the bot's calls.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiscordHandle } from "../../dev/discord/server.ts";
import type { SlackPost } from "../../dev/slack/server.ts";
import { SLACK_DEV } from "../../dev/slack/server.ts";
import { appMention, eventEnvelope, sendToInbound } from "../../dev/slack/signer.ts";
import type { E2E } from "../support/e2e";
import { startE2E } from "../support/e2e";
import { registerSecrets } from "../support/log-capture/registry.ts";

/** Not the default (1000): integration runs must take the deployment's MESSAGE_DELTA_INTERVAL_MS. */
const INTERVAL_MS = 1500;

let e2e: E2E;
let inbound: string;
let discord: DiscordHandle;
let discordInbound: string;
beforeAll(async () => {
  e2e = await startE2E({ workerVars: { MESSAGE_DELTA_INTERVAL_MS: String(INTERVAL_MS) } });
  discord = e2e.stack.discord;
  registerSecrets({ discordBotToken: discord.botToken });
  const assistant = await e2e.createAssistant({ name: "chat streamer", events: ["message.delta"] });
  const created = await e2e.api("POST", "/v1/integrations", {
    type: "slack",
    assistant_id: assistant.id,
    credentials: { signing_secret: SLACK_DEV.signingSecret, bot_token: SLACK_DEV.botToken },
    options: { team_id: SLACK_DEV.teamId, app_id: SLACK_DEV.appId },
  });
  expect(created.status).toBe(201);
  inbound = created.body.inbound_url;
  const made = await e2e.api("POST", "/v1/integrations", {
    type: "discord",
    assistant_id: assistant.id,
    credentials: {
      public_key: discord.publicKeyHex,
      application_id: discord.applicationId,
      bot_token: discord.botToken,
    },
  });
  expect(made.status).toBe(201);
  discordInbound = made.body.inbound_url;
}, 60_000);
afterAll(async () => e2e?.close());

let seq = 0;
const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, "0")}`;

/** Mention the bot with a `#sim` script (the simulator runs at 1/100 of the scripted time). */
async function mention(channel: string, script: Record<string, unknown>) {
  const thread = ts();
  const r = await sendToInbound(
    inbound,
    SLACK_DEV.signingSecret,
    eventEnvelope(appMention({ channel, ts: thread, text: `go #sim ${JSON.stringify(script)}` })),
  );
  expect(r.status).toBe(200);
  const conv = await e2e.api(
    "GET",
    `/v1/conversations/${encodeURIComponent(`slack:${SLACK_DEV.teamId}:${channel}:${thread}`)}`,
  );
  const runs = await e2e.api("GET", `/v1/threads/${conv.body.id}/runs`);
  expect(runs.body.data).toHaveLength(1);
  return { thread, runId: runs.body.data[0].id as string };
}

/** Wait until the run's answer was delivered (its delivery is saved after the last post). */
async function waitDelivered(runId: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = (await e2e.api("GET", `/v1/runs/${runId}`)).body;
    if (run.delivery?.state === "delivered" || run.delivery?.state === "failed") return run;
    if (Date.now() > until) throw new Error(`run ${runId}: delivery still ${run.delivery?.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The text a preview shows without its trailing " …". */
const body = (p: SlackPost) => p.text.replace(/ …$/, "");

describe("a Slack bot with progress events", () => {
  it("posts a placeholder, edits it as the text arrives, and ends it with the answer (one message)", async () => {
    const channel = "C0PROGRESS";
    const reply = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    // ~6 s of writing in 60 pieces: several deltas at one per 1.5 s.
    const started = Date.now();
    const { thread, runId } = await mention(channel, { delay_ms: 600_000, chunks: 60, reply });
    const run = await waitDelivered(runId);
    expect([run.status, run.delivery.state]).toEqual(["completed", "delivered"]);

    const all = e2e.slack.posts({ channel });
    const kinds = all.map((p) => p.kind);
    // One message posted, in the thread: the placeholder.
    const posted = all.filter((p) => p.kind === "chat.postMessage");
    expect(posted, JSON.stringify(kinds)).toHaveLength(1);
    const placeholder = posted[0] as SlackPost;
    expect(placeholder.thread_ts).toBe(thread);
    expect(all[0]).toBe(all.find((p) => p.kind === "chat.postMessage"));
    // Then only edits of that same message: at least one while writing, then the answer.
    const edits = all.slice(1);
    expect(edits.length, JSON.stringify(kinds)).toBeGreaterThanOrEqual(2);
    for (const e of edits)
      expect([e.kind, e.ts, e.thread_ts]).toEqual(["chat.update", placeholder.ts, thread]);
    // Growing text: each shows at least what the one before showed, the first a part of the answer.
    const shown = all.map(body);
    for (let i = 1; i < shown.length; i++)
      expect((shown[i] as string).startsWith(shown[i - 1] as string), `${shown[i - 1]} → ${shown[i]}`).toBe(
        true,
      );
    const writing = all.slice(0, -1);
    expect(writing.some((p) => p.text.endsWith(" …") && body(p).length < reply.length)).toBe(true);
    expect(all.at(-1)?.text).toBe(reply);
    // The edits while writing come at the deployment's pace (10% tolerance), not faster.
    for (let i = 1; i < writing.length; i++) {
      const gap = (writing[i] as SlackPost).at_ms - (writing[i - 1] as SlackPost).at_ms;
      expect(gap, `edit ${i} came ${gap} ms after the one before`).toBeGreaterThanOrEqual(INTERVAL_MS * 0.9);
    }
    console.warn(
      `slack progress: ${posted.length} post, ${edits.length} edits; placeholder ${placeholder.at_ms - started} ms after the mention, answer ${(all.at(-1) as SlackPost).at_ms - started} ms`,
    );
  }, 60_000);

  it("a long answer: its first part replaces the placeholder, the rest follow in the thread", async () => {
    const channel = "C0PROGLONG";
    // ~12,300 characters (four Slack messages) written over ~6 s: the preview is a full message
    // after a third of it, and then stays as it is until the answer replaces it.
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i}: ${"word ".repeat(80).trim()}.`);
    const reply = paragraphs.join("\n\n");
    const { thread, runId } = await mention(channel, { delay_ms: 600_000, chunks: 60, reply });
    const run = await waitDelivered(runId);
    expect([run.status, run.delivery.state]).toEqual(["completed", "delivered"]);

    const all = e2e.slack.posts({ channel });
    const kinds = all.map((p) => p.kind);
    const [placeholder, ...rest] = all;
    expect(placeholder?.kind).toBe("chat.postMessage");
    expect(placeholder?.thread_ts).toBe(thread);
    for (const p of all) expect(p.text.length).toBeLessThanOrEqual(3900);
    // Edits of the placeholder, then the answer's later parts as new messages: one more here.
    const lastEdit = rest.map((p) => p.kind).lastIndexOf("chat.update");
    expect(lastEdit, JSON.stringify(kinds)).toBeGreaterThanOrEqual(1);
    for (const e of rest.slice(0, lastEdit + 1))
      expect([e.kind, e.ts]).toEqual(["chat.update", placeholder?.ts]);
    const more = rest.slice(lastEdit + 1);
    expect(
      more.map((p) => [p.kind, p.thread_ts]),
      JSON.stringify(kinds),
    ).toEqual(Array.from({ length: 3 }, () => ["chat.postMessage", thread]));
    // No edit shows what the message already showed (a full preview is not edited again).
    const edited = [placeholder, ...rest.slice(0, lastEdit + 1)].map((p) => p?.text);
    for (let i = 1; i < edited.length; i++) expect(edited[i], `edit ${i}`).not.toBe(edited[i - 1]);
    // The answer as Slack ends up showing it: the placeholder's last text, then the rest.
    const finalFirst = rest[lastEdit] as SlackPost;
    expect(finalFirst.text.startsWith("Paragraph 0")).toBe(true);
    expect(finalFirst.text.endsWith(" …")).toBe(false);
    const joined = [finalFirst, ...more].map((p) => p.text).join("\n\n");
    for (const p of paragraphs) expect(joined).toContain(p);
  }, 60_000);

  it("a run cut short keeps the text it showed, with a note and its id", async () => {
    const channel = "C0PROGCUT";
    const reply = Array.from({ length: 30 }, (_, i) => `part${i}`).join(" ");
    const { runId } = await mention(channel, {
      delay_ms: 300_000,
      chunks: 30,
      reply,
      incomplete: "max_output_tokens",
    });
    const run = await waitDelivered(runId);
    expect([run.status, run.delivery.state]).toEqual(["incomplete", "delivered"]);
    const all = e2e.slack.posts({ channel });
    expect(all.filter((p) => p.kind === "chat.postMessage")).toHaveLength(1);
    expect(all.at(-1)).toMatchObject({ kind: "chat.update", ts: all[0]?.ts });
    expect(all.at(-1)?.text).toBe(`${reply}\n\n_(The answer was cut short. Reference: \`${runId}\`)_`);
  }, 60_000);
});

/** The run of a Discord conversation (the stand-in's guild and user; one run per channel here). */
async function runIdOf(channelId: string): Promise<string> {
  const key = `discord:1200000000000000001:${channelId}:1400000000000000001`;
  const thread = await e2e.api("GET", `/v1/conversations/${encodeURIComponent(key)}`);
  const runs = await e2e.api("GET", `/v1/threads/${thread.body.id}/runs`);
  return runs.body.data[0].id;
}

describe("a Discord bot with progress events", () => {
  let channel = 1_300_000_000_000_000_500n;

  it("edits the deferred response with the text so far, then with the answer", async () => {
    const reply = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    const started = Date.now();
    const r = await discord.interact(discordInbound, {
      text: `go #sim ${JSON.stringify({ delay_ms: 600_000, chunks: 60, reply })}`,
      channelId: String(++channel),
    });
    registerSecrets({ discordInteractionToken: r.interaction.token });
    expect(r.body).toEqual({ type: 5 });
    const id = r.interaction.id;
    const until = Date.now() + 30_000;
    while (discord.original(id)?.content !== reply && Date.now() < until)
      await new Promise((res) => setTimeout(res, 50));
    const posts = discord.posts({ interaction_id: id });
    const kinds = posts.map((p) => p.kind);
    expect(kinds[0]).toBe("interaction_response");
    const edits = posts.slice(1);
    // Only edits of the original: at least two while writing, growing, then the answer.
    expect(edits.length, JSON.stringify(kinds)).toBeGreaterThanOrEqual(3);
    expect(
      edits.every((p) => p.kind === "edit_original"),
      JSON.stringify(kinds),
    ).toBe(true);
    const writing = edits.slice(0, -1);
    expect(writing.every((p) => p.content.endsWith(" …"))).toBe(true);
    const shown = edits.map((p) => p.content.replace(/ …$/, ""));
    for (let i = 1; i < shown.length; i++)
      expect((shown[i] as string).startsWith(shown[i - 1] as string), `${shown[i - 1]} → ${shown[i]}`).toBe(
        true,
      );
    expect(shown[0]?.length).toBeLessThan(reply.length);
    expect(edits.at(-1)?.content).toBe(reply);
    for (let i = 1; i < writing.length; i++) {
      const gap = (writing[i]?.at_ms ?? 0) - (writing[i - 1]?.at_ms ?? 0);
      expect(gap, `edit ${i} came ${gap} ms after the one before`).toBeGreaterThanOrEqual(INTERVAL_MS * 0.9);
    }
    console.warn(
      `discord progress: ${edits.length} edits; first ${(edits[0]?.at_ms ?? 0) - started} ms after the command, answer ${(edits.at(-1)?.at_ms ?? 0) - started} ms`,
    );
  }, 60_000);

  it("edits nothing once the interaction's token is past its life: the answer goes to the channel", async () => {
    const channelId = String(++channel);
    const requests = async () =>
      ((await (await fetch(`${discord.url}/__stats`)).json()) as { requests: number }).requests;
    const before = await requests();
    const r = await discord.interact(discordInbound, {
      text: `late #sim ${JSON.stringify({ delay_ms: 200_000, chunks: 20, reply: "a late answer in pieces" })}`,
      channelId,
      createdAtMs: Date.now() - 16 * 60_000,
    });
    expect(r.body).toEqual({ type: 5 });
    const [post] = await discord.waitForPosts(1, {
      channel_id: channelId,
      kind: "channel_message",
      timeoutMs: 30_000,
    });
    expect(post?.content).toBe("<@1400000000000000001> a late answer in pieces");
    expect(discord.posts({ interaction_id: r.interaction.id }).map((p) => p.kind)).toEqual([
      "interaction_response",
    ]);
    // Its one call to Discord's API: the channel message (no edit tried with the dead token).
    await e2e.waitForRun(await runIdOf(channelId), ["completed"]);
    expect(await requests()).toBe(before + 1);
  }, 60_000);
});
