/**
 * Issue 20, Discord: a bot configured, not coded. Interactions signed by the Discord stand-in reach
 * an integration's inbound URL on the Worker; a slash command is acknowledged at once (deferred),
 * runs, and its answer replaces the "thinking…" message through the interaction's webhook (split
 * over 2,000 characters into follow-ups). A bad signature is refused and nothing runs; PING is
 * answered; credentials never come back; a platform failure is retried and the run shows it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DiscordHandle } from "../../dev/discord/server.ts";
import { splitMessage } from "../../src/integrations/discord/format";
import { type E2E, startE2E } from "../support/e2e";
import { registerSecrets } from "../support/log-capture/registry.ts";

let e2e: E2E;
let discord: DiscordHandle;
let integration: { id: string; inbound_url: string };
let assistantId: string;

beforeAll(async () => {
  e2e = await startE2E();
  discord = e2e.stack.discord;
  registerSecrets({ discordBotToken: discord.botToken });
  assistantId = (await e2e.createAssistant({ name: "discord bot" })).id;
  const r = await e2e.api("POST", "/v1/integrations", {
    type: "discord",
    assistant_id: assistantId,
    credentials: {
      public_key: discord.publicKeyHex,
      application_id: discord.applicationId,
      bot_token: discord.botToken,
    },
  });
  if (r.status !== 201) throw new Error(`integration: ${r.status} ${JSON.stringify(r.body)}`);
  integration = r.body;
});
afterAll(async () => e2e?.close());
beforeEach(() => discord.faults.set([]));

const responsesCreated = async () => (await e2e.stack.openai.stats()).responsesCreated;
let channel = 1_300_000_000_000_000_100n;
/** The run a Discord conversation key's thread holds (newest), as the webhook API shows it. */
async function runOf(channelId: string) {
  const key = `discord:1200000000000000001:${channelId}:1400000000000000001`;
  const thread = await e2e.api("GET", `/v1/conversations/${encodeURIComponent(key)}`);
  expect(thread.status, JSON.stringify(thread.body)).toBe(200);
  const runs = await e2e.api("GET", `/v1/threads/${thread.body.id}/runs`);
  const id = runs.body.data[0].id;
  await e2e.waitForRun(id, ["completed", "failed"]);
  const until = Date.now() + 20_000;
  for (;;) {
    const run = (await e2e.api("GET", `/v1/runs/${id}`)).body;
    if (run.delivery?.state !== "pending" || Date.now() > until) return run;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
/** Each test its own channel, so each has its own conversation. */
const nextChannel = () => String(++channel);

describe("Discord integration", () => {
  it("shows the inbound URL and never the credentials", async () => {
    expect(integration.inbound_url).toBe(`${e2e.worker}/v1/integrations/${integration.id}/events`);
    const answers = [
      integration,
      (await e2e.api("GET", `/v1/integrations/${integration.id}`)).body,
      (await e2e.api("GET", "/v1/integrations")).body,
    ];
    for (const a of answers) {
      const text = JSON.stringify(a);
      expect(text).not.toContain(discord.botToken);
      expect(text).not.toContain(discord.publicKeyHex);
    }
    expect((answers[1] as any).credentials).toEqual({
      public_key: "********",
      application_id: "********",
      bot_token: "********",
    });
  });

  it("checks the credentials with Discord at create: the bot token's application, its id and key", async () => {
    const creds = {
      public_key: discord.publicKeyHex,
      application_id: discord.applicationId,
      bot_token: discord.botToken,
    };
    const create = (credentials: Record<string, string>) =>
      e2e.api("POST", "/v1/integrations", { type: "discord", assistant_id: assistantId, credentials });
    const cases: [Record<string, string>, string, string][] = [
      [{ ...creds, bot_token: "not-the-bot-token-0000000" }, "discord_auth_failed", "credentials.bot_token"],
      [
        { ...creds, application_id: "1100000000000000999" },
        "discord_credentials_mismatch",
        "credentials.application_id",
      ],
      [{ ...creds, public_key: "ab".repeat(32) }, "discord_credentials_mismatch", "credentials.public_key"],
      [{ ...creds, public_key: "not hex" }, "invalid_value", "credentials.public_key"],
    ];
    for (const [credentials, code, param] of cases) {
      const r = await create(credentials);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error).toMatchObject({ code, param });
      expect(JSON.stringify(r.body)).not.toContain(discord.botToken);
    }
  });

  it("answers PING with PONG", async () => {
    const r = await discord.interact(integration.inbound_url, { kind: "ping" });
    expect(r).toMatchObject({ status: 200, body: { type: 1 } });
  });

  it("defers a slash command at once and edits the original with the answer", async () => {
    const channelId = nextChannel();
    const r = await discord.interact(integration.inbound_url, { text: "What is threadhook?", channelId });
    // The interaction token lets its holder edit the bot's message: the suite's log check looks for it.
    registerSecrets({ discordInteractionToken: r.interaction.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ type: 5 });
    expect(r.ack_ms).toBeLessThan(3_000);
    console.warn(`discord: slash command acknowledged in ${r.ack_ms} ms`);
    const [edit] = await discord.waitForPosts(1, { interaction_id: r.interaction.id, kind: "edit_original" });
    expect(edit?.content).toBe("echo: What is threadhook?");
    expect(discord.original(r.interaction.id)).toMatchObject({
      content: "echo: What is threadhook?",
      flags: 0,
    });
    // The run is an ordinary run on the conversation key, delivered to the integration.
    const run = await runOf(channelId);
    expect(run).toMatchObject({
      status: "completed",
      delivery: { state: "delivered", integration_id: integration.id },
    });
    expect(JSON.stringify(run)).not.toContain(r.interaction.token);
    // The dev inbox page shows what the bot posted.
    const page = await (await fetch(`${e2e.inbox.url}/`)).text();
    expect(page).toContain("What the bot posted in Discord");
    expect(page).toContain("echo: What is threadhook?");
  });

  it("splits an answer over 2,000 characters into the original and follow-ups", async () => {
    const long = Array.from(
      { length: 60 },
      (_, i) => `Paragraph ${i}: ${"lorem ipsum dolor ".repeat(4).trim()}`,
    ).join("\n\n");
    const r = await discord.interact(integration.inbound_url, {
      text: `long please #sim ${JSON.stringify({ reply: long })}`,
      channelId: nextChannel(),
    });
    expect(r.body).toEqual({ type: 5 });
    const parts = Math.ceil(long.length / 2000);
    const posts = await discord.waitForPosts(1 + parts, { interaction_id: r.interaction.id });
    const [ack, first, ...rest] = posts;
    expect(ack?.kind).toBe("interaction_response");
    expect(first?.kind).toBe("edit_original");
    expect(rest.length).toBeGreaterThanOrEqual(1);
    expect(rest.every((p) => p.kind === "followup")).toBe(true);
    for (const p of posts) expect(p.content.length).toBeLessThanOrEqual(2000);
    expect([first, ...rest].map((p) => p?.content).join("\n\n")).toBe(long);
  });

  it("refuses a bad or missing signature with 401, and nothing runs", async () => {
    const before = await responsesCreated();
    const bad = await discord.interact(integration.inbound_url, { text: "sneaky", signature: "bad" });
    const none = await discord.interact(integration.inbound_url, { text: "sneaky", signature: "none" });
    const stale = await discord.interact(integration.inbound_url, {
      text: "sneaky",
      timestampS: Math.floor(Date.now() / 1000) - 600,
    });
    for (const r of [bad, none, stale]) {
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: { code: "invalid_signature" } });
    }
    // A valid one afterwards runs; the refused ones never did.
    const ok = await discord.interact(integration.inbound_url, { text: "fine", channelId: nextChannel() });
    await discord.waitForPosts(1, { interaction_id: ok.interaction.id, kind: "edit_original" });
    expect(await responsesCreated()).toBe(before + 1);
    for (const r of [bad, none, stale])
      expect(discord.posts({ interaction_id: r.interaction.id })).toEqual([]);
  });

  it("answers a message command about the message", async () => {
    const r = await discord.interact(integration.inbound_url, { kind: "message", text: "Is the sky blue?" });
    expect(r.body).toEqual({ type: 5 });
    const [edit] = await discord.waitForPosts(1, { interaction_id: r.interaction.id, kind: "edit_original" });
    expect(edit?.content).toBe("echo: Is the sky blue?");
  });

  it("says a failed run in a short friendly message with the run id", async () => {
    const channelId = nextChannel();
    const r = await discord.interact(integration.inbound_url, {
      text: `break #sim {"fail": {"code": "server_error"}}`,
      channelId,
    });
    const [edit] = await discord.waitForPosts(1, { interaction_id: r.interaction.id, kind: "edit_original" });
    expect(edit?.content).toMatch(
      /^Sorry, something went wrong while answering\. \(reference: `run_[A-Za-z0-9]+`\)$/,
    );
  });

  it("retries a failed post with backoff, and the run shows the delivery", async () => {
    discord.faults.set([{ kind: "error", status: 503, next: 2, match: "PATCH /webhooks" }]);
    const channelId = nextChannel();
    const r = await discord.interact(integration.inbound_url, { text: "flaky discord", channelId });
    const [edit] = await discord.waitForPosts(1, { interaction_id: r.interaction.id, kind: "edit_original" });
    expect(edit?.content).toBe("echo: flaky discord");
    const { delivery } = await runOf(channelId);
    expect(delivery.state).toBe("delivered");
    expect(delivery.attempts.map((a: any) => a.status)).toEqual([503, 503, 200]);
  });

  it("retries a split answer from the part that failed: no part is posted twice", async () => {
    const long = Array.from({ length: 50 }, (_, i) => `Line ${i}: ${"abc ".repeat(30).trim()}`).join("\n");
    // The first follow-up fails once: the retry must not edit the original again or repeat a part.
    discord.faults.set([{ kind: "error", status: 503, next: 1, match: "POST /webhooks" }]);
    const channelId = nextChannel();
    const r = await discord.interact(integration.inbound_url, {
      text: `retry me #sim ${JSON.stringify({ reply: long })}`,
      channelId,
    });
    await discord.waitForPosts(5, { interaction_id: r.interaction.id });
    const { delivery } = await runOf(channelId);
    expect(delivery.state).toBe("delivered");
    expect(delivery.attempts.map((a: any) => a.status)).toEqual([503, 200]);
    const posts = discord.posts({ interaction_id: r.interaction.id }).slice(1);
    const parts = splitMessage(long);
    expect(parts.length).toBe(4);
    expect(posts.map((p) => p.kind)).toEqual(["edit_original", "followup", "followup", "followup"]);
    expect(posts.map((p) => p.content)).toEqual(parts);
    expect(posts.map((p) => p.content).join("\n")).toBe(long);
  });

  it("posts in the channel with the bot token once the interaction's 15 minutes are over", async () => {
    // An interaction made 16 minutes ago (its id says so): its token no longer works.
    const channelId = nextChannel();
    const r = await discord.interact(integration.inbound_url, {
      text: "late question",
      channelId,
      createdAtMs: Date.now() - 16 * 60_000,
    });
    expect(r.body).toEqual({ type: 5 });
    const [post] = await discord.waitForPosts(1, { channel_id: channelId, kind: "channel_message" });
    expect(post?.content).toBe("<@1400000000000000001> echo: late question");
    expect(discord.posts({ interaction_id: r.interaction.id }).map((p) => p.kind)).toEqual([
      "interaction_response",
    ]);
  });

  it("posts the answer again on redeliver", async () => {
    const channelId = nextChannel();
    const r = await discord.interact(integration.inbound_url, { text: "say it twice", channelId });
    await discord.waitForPosts(1, { interaction_id: r.interaction.id, kind: "edit_original" });
    const run = await runOf(channelId);
    expect((await e2e.api("POST", `/v1/runs/${run.id}/redeliver`)).status).toBeLessThan(300);
    const edits = await discord.waitForPosts(2, { interaction_id: r.interaction.id, kind: "edit_original" });
    expect(edits.map((p) => p.content)).toEqual(["echo: say it twice", "echo: say it twice"]);
  });

  it("acknowledges within Discord's 3 s: measured over 10 slash commands", async () => {
    const acks: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await discord.interact(integration.inbound_url, {
        text: `quick ${i}`,
        channelId: nextChannel(),
      });
      expect(r.body).toEqual({ type: 5 });
      acks.push(r.ack_ms);
    }
    acks.sort((a, b) => a - b);
    console.warn(
      `discord: acks over 10 slash commands, ms: median ${acks[4]}, max ${acks[9]} (${acks.join(", ")})`,
    );
    expect(acks[9]).toBeLessThan(3_000);
  });

  it("links the files a code interpreter made under the answer", async () => {
    const charts = await e2e.createAssistant({ name: "charts", tools: [{ type: "code_interpreter" }] });
    const made = await e2e.api("POST", "/v1/integrations", {
      type: "discord",
      assistant_id: charts.id,
      credentials: {
        public_key: discord.publicKeyHex,
        application_id: discord.applicationId,
        bot_token: discord.botToken,
      },
    });
    expect(made.status).toBe(201);
    const r = await discord.interact(made.body.inbound_url, {
      text: 'Chart it #sim {"code_interpreter": {"files": ["chart.png"]}}',
      channelId: nextChannel(),
    });
    const [edit] = await discord.waitForPosts(1, { interaction_id: r.interaction.id, kind: "edit_original" });
    const link = /\*\*Files:\*\*\n- \[chart\.png\]\(<([^>]+)>\)$/.exec(edit?.content ?? "")?.[1];
    expect(link, edit?.content).toMatch(new RegExp(`^${e2e.worker}/v1/files/file-[A-Za-z0-9]+/download\\?`));
    const png = await fetch(link as string);
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
  });

  it("refuses an interaction for another application with 403", async () => {
    const r = await discord.interact(integration.inbound_url, {
      extra: { application_id: "1100000000000000999" },
    });
    expect(r.status).toBe(403);
  });
});
