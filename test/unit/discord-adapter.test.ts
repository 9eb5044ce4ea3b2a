// The Discord adapter's parts: the Ed25519 check agrees with discord-interactions' verifier on the
// stand-in's signatures (and refuses stale ones); interactions become a question with its
// conversation key, a PING or a short reply; answers split at 2,000 characters; and the delivery
// posts them through the stand-in (edit original, follow-ups, channel messages after 15 minutes,
// retries that never post a part twice).
import { verifyKey } from "discord-interactions";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildInteraction } from "../../dev/discord/interactions.ts";
import { type DiscordHandle, startDiscord } from "../../dev/discord/server.ts";
import { snowflake } from "../../dev/discord/state.ts";
import { discordApi } from "../../src/integrations/discord/api";
import { deliverToDiscord, messageFor } from "../../src/integrations/discord/deliver";
import { friendlyEnding, splitMessage, withFiles } from "../../src/integrations/discord/format";
import {
  classify,
  type DiscordTarget,
  InteractionSchema,
  snowflakeTimeMs,
} from "../../src/integrations/discord/interaction";
import { verifyDiscordSignature } from "../../src/integrations/discord/verify";

let discord: DiscordHandle;
beforeAll(async () => {
  discord = await startDiscord();
});
afterAll(async () => discord?.close());
beforeEach(() => {
  discord.clear();
  discord.faults.set([]);
});

const bytes = (s: string) => new TextEncoder().encode(s);

describe("verifyDiscordSignature", () => {
  it("agrees with discord-interactions on signed, tampered and missing signatures", async () => {
    const body = JSON.stringify({ type: 1, id: "1" });
    const h = await discord.signer.sign(body);
    const sig = h["x-signature-ed25519"] as string;
    const ts = h["x-signature-timestamp"] as string;
    const cases: [string, string, string][] = [
      [body, sig, ts],
      [`${body} `, sig, ts],
      [body, `00${sig.slice(2)}`, ts],
      [body, sig, String(Number(ts) + 1)],
      [body, "", ts],
      [body, "zz", ts],
    ];
    for (const [b, s, t] of cases) {
      const theirs = await verifyKey(b, s, t, discord.publicKeyHex);
      const ours = await verifyDiscordSignature({
        publicKeyHex: discord.publicKeyHex,
        signatureHex: s,
        timestamp: t,
        body: bytes(b),
        nowMs: Number(ts) * 1000,
      });
      expect(ours.ok, `${b} ${s.slice(0, 8)} ${t}`).toBe(theirs);
    }
    expect(await verifyKey(body, sig, ts, discord.publicKeyHex)).toBe(true);
  });

  it("refuses a correctly signed request whose timestamp is over 5 minutes away", async () => {
    const body = "{}";
    const nowS = Math.floor(Date.now() / 1000);
    for (const [offset, ok] of [
      [-301, false],
      [-299, true],
      [299, true],
      [301, false],
    ] as const) {
      const h = await discord.signer.sign(body, nowS + offset);
      const r = await verifyDiscordSignature({
        publicKeyHex: discord.publicKeyHex,
        signatureHex: h["x-signature-ed25519"],
        timestamp: h["x-signature-timestamp"],
        body: bytes(body),
        nowMs: nowS * 1000,
      });
      expect(r, String(offset)).toEqual(ok ? { ok: true } : { ok: false, reason: "stale_timestamp" });
    }
  });

  it("refuses with another application's key, and without headers", async () => {
    const h = await discord.signer.sign("{}");
    const base = { body: bytes("{}"), nowMs: Date.now(), timestamp: h["x-signature-timestamp"] };
    const other = "a".repeat(64);
    expect(
      await verifyDiscordSignature({ ...base, publicKeyHex: other, signatureHex: h["x-signature-ed25519"] }),
    ).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(
      await verifyDiscordSignature({ ...base, publicKeyHex: discord.publicKeyHex, signatureHex: null }),
    ).toEqual({
      ok: false,
      reason: "missing_signature",
    });
  });
});

describe("classify", () => {
  const parse = (o: Parameters<typeof buildInteraction>[1]) =>
    InteractionSchema.parse(buildInteraction(discord.applicationId, o));

  it("answers PING", () => {
    expect(classify(parse({ kind: "ping" }))).toEqual({ kind: "ping" });
  });

  it("makes a slash command a question on discord:{guild}:{channel}:{user}", () => {
    const i = parse({ text: "  What is 2+2? ", guildId: "11", channelId: "22", userId: "33" });
    const c = classify(i);
    expect(c).toMatchObject({
      kind: "ask",
      prompt: "What is 2+2?",
      command: "ask",
      conversationKey: "discord:11:22:33",
    });
    if (c.kind !== "ask") throw new Error("not ask");
    expect(c.target).toMatchObject({
      application_id: discord.applicationId,
      interaction_id: i.id,
      channel_id: "22",
      user_id: "33",
    });
    expect(Math.abs(c.target.created_at_ms - Date.now())).toBeLessThan(5_000);
  });

  it("shares one conversation per thread, and keys direct messages without a guild", () => {
    const a = classify(
      parse({ text: "q", guildId: "11", channelId: "44", threadParentId: "22", userId: "1" }),
    );
    const b = classify(
      parse({ text: "q", guildId: "11", channelId: "44", threadParentId: "22", userId: "2" }),
    );
    expect(a).toMatchObject({ conversationKey: "discord:11:22:44" });
    expect(b).toMatchObject({ conversationKey: "discord:11:22:44" });
    expect(classify(parse({ text: "q", guildId: null, channelId: "55", userId: "3" }))).toMatchObject({
      conversationKey: "discord:dm:55:3",
    });
  });

  it("makes a message command a question about the message", () => {
    expect(classify(parse({ kind: "message", text: "Is this right?" }))).toMatchObject({
      kind: "ask",
      prompt: "Is this right?",
    });
    expect(classify(parse({ kind: "message", text: "" }))).toEqual({
      kind: "reply",
      content: "That message has no text to ask about.",
    });
  });

  it("replies shortly to an empty command or another interaction type", () => {
    expect(classify(parse({}))).toMatchObject({ kind: "reply" });
    expect(classify(parse({ extra: { type: 3 } }))).toMatchObject({ kind: "reply" });
  });

  it("reads the time out of a Discord id", () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    expect(snowflakeTimeMs(snowflake(at))).toBe(at);
    expect(snowflakeTimeMs("175928847299117063")).toBe(Date.UTC(2016, 3, 30, 11, 18, 25, 796));
  });
});

describe("splitMessage", () => {
  it("keeps a short answer whole", () => {
    expect(splitMessage("hello")).toEqual(["hello"]);
    expect(splitMessage("x".repeat(2000))).toHaveLength(1);
  });

  it("splits a long answer at line breaks into parts of at most 2,000 characters", () => {
    const lines = Array.from({ length: 120 }, (_, i) => `Line ${i}: ${"word ".repeat(10)}`.trim());
    const parts = splitMessage(lines.join("\n"));
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(2000);
    expect(parts.join("\n")).toBe(lines.join("\n"));
  });

  it("cuts a text without spaces hard, and never inside a surrogate pair", () => {
    const parts = splitMessage(`${"a".repeat(1999)}😀${"b".repeat(10)}`);
    expect(parts[0]).toBe("a".repeat(1999));
    expect(parts[1]).toBe(`😀${"b".repeat(10)}`);
  });

  it("closes a code block cut in two and opens it again in the next part", () => {
    const code = Array.from({ length: 150 }, (_, i) => `const v${i} = ${i}; // ${"x".repeat(10)}`).join("\n");
    const parts = splitMessage(`Here:\n\`\`\`ts\n${code}\n\`\`\`\nDone.`);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(2000);
      expect((p.match(/```/g) ?? []).length % 2, p.slice(0, 40)).toBe(0);
    }
    expect(parts[1]?.startsWith("```ts\n")).toBe(true);
  });
});

describe("withFiles", () => {
  it("lists generated files as links under the answer (without embeds), and nothing else", () => {
    const files = [
      { filename: "chart [1].png", download_url: "https://t.example/f/1?sig=a" },
      { filename: "no-link.csv" },
    ];
    expect(withFiles("Here.", files)).toBe(
      "Here.\n\n**Files:**\n- [chart _1_.png](<https://t.example/f/1?sig=a>)",
    );
    expect(withFiles("Here.", [])).toBe("Here.");
  });
});

describe("messageFor", () => {
  const run = (status: string, text: string | null) =>
    ({ id: "run_1", status, output: text === null ? null : { text, content: [] } }) as never;
  it("says the answer, or a friendly ending with the run id", () => {
    expect(messageFor(run("completed", "42"))).toBe("42");
    expect(messageFor(run("failed", null))).toBe(friendlyEnding("failed", "run_1"));
    expect(messageFor(run("failed", null))).toContain("run_1");
    expect(messageFor(run("expired", null))).toContain("too long");
    expect(messageFor(run("incomplete", "half"))).toMatch(/^half\n\n.*cut short.*run_1/s);
    expect(messageFor(run("in_progress", null))).toBeNull();
    expect(messageFor(run("requires_action", null))).toBeNull();
  });
});

describe("deliverToDiscord through the stand-in", () => {
  const bot = async (o: Parameters<DiscordHandle["interact"]>[1] = {}) => {
    // The stand-in's own endpoint stands in for the bot: the interaction is deferred by hand.
    const server = await import("node:http");
    const s = server.createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end('{"type":5}'),
    );
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const { port } = s.address() as { port: number };
    const r = await discord.interact(`http://127.0.0.1:${port}/`, { text: "q", ...o });
    s.close();
    const i = r.interaction;
    const target: DiscordTarget = {
      application_id: i.application_id,
      interaction_id: i.id,
      token: i.token,
      channel_id: i.channel_id,
      user_id: "1400000000000000001",
      created_at_ms: snowflakeTimeMs(i.id),
    };
    return target;
  };
  const api = () => discordApi(discord.apiUrl);
  const long = Array.from({ length: 90 }, (_, i) => `Paragraph ${i}. ${"lorem ipsum ".repeat(4)}`).join(
    "\n\n",
  );

  it("edits the original with the first part and posts the rest as follow-ups", async () => {
    const target = await bot();
    const r = await deliverToDiscord({
      api: api(),
      botToken: discord.botToken,
      target,
      text: long,
      sent: 0,
      nowMs: Date.now(),
    });
    const parts = splitMessage(long);
    expect(r).toMatchObject({ ok: true, sent: parts.length, parts: parts.length, via: "webhook" });
    const posts = discord.posts({ interaction_id: target.interaction_id });
    expect(posts.map((p) => p.kind)).toEqual([
      "interaction_response",
      "edit_original",
      ...parts.slice(1).map(() => "followup"),
    ]);
    expect(posts.slice(1).map((p) => p.content)).toEqual(parts);
    expect(discord.original(target.interaction_id)?.content).toBe(parts[0]);
  });

  it("after 15 minutes posts in the channel with the bot token, pinging the asker", async () => {
    const target = await bot({ createdAtMs: Date.now() - 16 * 60_000 });
    const r = await deliverToDiscord({
      api: api(),
      botToken: discord.botToken,
      target,
      text: "late answer",
      sent: 0,
      nowMs: Date.now(),
    });
    expect(r).toMatchObject({ ok: true, via: "channel", sent: 1 });
    expect(discord.posts({ channel_id: target.channel_id }).at(-1)).toMatchObject({
      kind: "channel_message",
      content: `<@${target.user_id}> late answer`,
    });
  });

  it("falls back to the channel when Discord says the token is gone", async () => {
    const target = await bot({ createdAtMs: Date.now() - 15 * 60_000 - 5_000 });
    // The adapter's clock says the token is fresh (skew): Discord's 401 50027 decides.
    const r = await deliverToDiscord({
      api: api(),
      botToken: discord.botToken,
      target,
      text: "x",
      sent: 0,
      nowMs: target.created_at_ms,
    });
    expect(r).toMatchObject({ ok: true, via: "channel" });
  });

  it("stops at a platform failure, and the retry posts only what is missing", async () => {
    const target = await bot();
    discord.faults.set([{ kind: "error", status: 503, next: 1, match: "POST /webhooks" }]);
    const first = await deliverToDiscord({
      api: api(),
      botToken: discord.botToken,
      target,
      text: long,
      sent: 0,
      nowMs: Date.now(),
    });
    expect(first).toMatchObject({ ok: false, status: 503, retryable: true, sent: 1 });
    const again = await deliverToDiscord({
      api: api(),
      botToken: discord.botToken,
      target,
      text: long,
      sent: first.sent,
      nowMs: Date.now(),
    });
    expect(again.ok).toBe(true);
    const contents = discord
      .posts({ interaction_id: target.interaction_id })
      .slice(1)
      .map((p) => p.content);
    expect(contents).toEqual(splitMessage(long));
  });

  it("reports a rate limit as retryable and a refused bot token as not", async () => {
    const target = await bot();
    discord.faults.set([{ kind: "error", status: 429, next: 1 }]);
    expect(
      await deliverToDiscord({
        api: api(),
        botToken: discord.botToken,
        target,
        text: "x",
        sent: 0,
        nowMs: Date.now(),
      }),
    ).toMatchObject({
      ok: false,
      status: 429,
      retryable: true,
    });
    const old = await bot({ createdAtMs: Date.now() - 16 * 60_000 });
    expect(
      await deliverToDiscord({
        api: api(),
        botToken: "wrong",
        target: old,
        text: "x",
        sent: 0,
        nowMs: Date.now(),
      }),
    ).toMatchObject({
      ok: false,
      status: 401,
      retryable: false,
      error: "HTTP 401",
    });
  });
});
