// dev/discord: the Discord stand-in is held to Discord's behaviour. Its signed interactions pass the
// `discord-interactions` package's verifier (and tampered ones fail it); its interaction webhooks
// and channel messages answer as Discord's API does (edit original, follow-ups, the 2,000-character
// limit, the 15-minute token, the bot token for channel messages).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { InteractionResponseType, InteractionType, verifyKey } from "discord-interactions";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DiscordHandle, startDiscord } from "../../dev/discord/server.ts";

let discord: DiscordHandle;
let bot: { url: string; seen: { type: number; verified: boolean }[]; close: () => Promise<void> };

/** A bot endpoint that checks signatures with discord-interactions and defers every command. */
async function startBot(publicKey: string) {
  const seen: { type: number; verified: boolean }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks);
      const verified = await verifyKey(
        raw,
        String(req.headers["x-signature-ed25519"] ?? ""),
        String(req.headers["x-signature-timestamp"] ?? ""),
        publicKey,
      );
      const body = JSON.parse(raw.toString("utf8"));
      seen.push({ type: body.type, verified });
      if (!verified) {
        res.writeHead(401).end("invalid request signature");
        return;
      }
      const type =
        body.type === InteractionType.PING
          ? InteractionResponseType.PONG
          : InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ type }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/interactions`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  discord = await startDiscord();
  bot = await startBot(discord.publicKeyHex);
});
afterAll(async () => {
  await bot?.close();
  await discord?.close();
});
beforeEach(() => {
  discord.clear();
  bot.seen.length = 0;
});

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${discord.apiUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const hook = (i: { application_id: string; token: string }) => `/webhooks/${i.application_id}/${i.token}`;

describe("signed interactions", () => {
  it("pass discord-interactions' verifier: PING and a slash command", async () => {
    const ping = await discord.interact(bot.url, { kind: "ping" });
    expect(ping.status).toBe(200);
    expect(ping.body).toEqual({ type: 1 });
    const ask = await discord.interact(bot.url, { text: "hello" });
    expect(ask.body).toEqual({ type: 5 });
    expect(bot.seen).toEqual([
      { type: 1, verified: true },
      { type: 2, verified: true },
    ]);
    expect(discord.publicKeyHex).toMatch(/^[0-9a-f]{64}$/);
  });

  it("fail it when the signature is changed or missing", async () => {
    expect((await discord.interact(bot.url, { signature: "bad" })).status).toBe(401);
    expect((await discord.interact(bot.url, { signature: "none" })).status).toBe(401);
    expect(bot.seen.map((s) => s.verified)).toEqual([false, false]);
  });

  it("fail it when the body is not the one signed", async () => {
    const body = JSON.stringify({ type: 1 });
    const headers = await discord.signer.sign(body);
    const tampered = JSON.stringify({ type: 1, x: 1 });
    expect(
      await verifyKey(
        tampered,
        headers["x-signature-ed25519"] as string,
        headers["x-signature-timestamp"] as string,
        discord.publicKeyHex,
      ),
    ).toBe(false);
    expect(
      await verifyKey(
        body,
        headers["x-signature-ed25519"] as string,
        headers["x-signature-timestamp"] as string,
        discord.publicKeyHex,
      ),
    ).toBe(true);
  });
});

describe("interaction webhooks", () => {
  it("edit the deferred original and post follow-ups", async () => {
    const { interaction } = await discord.interact(bot.url, { text: "q" });
    expect(discord.original(interaction.id)?.flags).toBe(128); // "thinking…"
    const edit = await call("PATCH", `${hook(interaction)}/messages/@original`, { content: "the answer" });
    expect(edit.status).toBe(200);
    expect(edit.body).toMatchObject({ content: "the answer", channel_id: interaction.channel_id, flags: 0 });
    const more = await call("POST", hook(interaction), { content: "part two" });
    expect(more.status).toBe(200);
    expect(more.body.id).toMatch(/^\d+$/);
    const got = await call("GET", `${hook(interaction)}/messages/@original`);
    expect(got.body.content).toBe("the answer");
    expect(discord.posts({ interaction_id: interaction.id }).map((p) => [p.kind, p.content])).toEqual([
      ["interaction_response", "(thinking…)"],
      ["edit_original", "the answer"],
      ["followup", "part two"],
    ]);
  });

  it("refuse content over 2,000 characters, and empty follow-ups", async () => {
    const { interaction } = await discord.interact(bot.url, { text: "q" });
    const long = await call("PATCH", `${hook(interaction)}/messages/@original`, {
      content: "x".repeat(2001),
    });
    expect(long.status).toBe(400);
    expect(long.body.code).toBe(50035);
    expect(
      (await call("PATCH", `${hook(interaction)}/messages/@original`, { content: "x".repeat(2000) })).status,
    ).toBe(200);
    const empty = await call("POST", hook(interaction), { content: " " });
    expect(empty).toMatchObject({ status: 400, body: { code: 50006 } });
  });

  it("refuse an unknown token, and a token older than 15 minutes", async () => {
    expect(
      await call("PATCH", `/webhooks/${discord.applicationId}/nope/messages/@original`, { content: "x" }),
    ).toMatchObject({
      status: 404,
      body: { code: 10015, message: "Unknown Webhook" },
    });
    const { interaction } = await discord.interact(bot.url, {
      text: "q",
      createdAtMs: Date.now() - 15 * 60_000 - 1000,
    });
    expect(await call("PATCH", `${hook(interaction)}/messages/@original`, { content: "late" })).toMatchObject(
      {
        status: 401,
        body: { code: 50027, message: "Invalid Webhook Token" },
      },
    );
    expect((await call("POST", hook(interaction), { content: "late" })).status).toBe(401);
  });

  it("fail for an interaction answered after Discord's 3 s", async () => {
    const slow = http.createServer((_req, res) => {
      setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end('{"type":5}'), 3_200);
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", () => r()));
    const { port } = slow.address() as AddressInfo;
    const { interaction, ack_ms } = await discord.interact(`http://127.0.0.1:${port}/`, { text: "q" });
    slow.close();
    expect(ack_ms).toBeGreaterThan(3_000);
    expect(discord.original(interaction.id)).toBeNull();
    expect((await call("PATCH", `${hook(interaction)}/messages/@original`, { content: "x" })).body.code).toBe(
      10015,
    );
  });

  it("have no webhook for a PING", async () => {
    const { interaction } = await discord.interact(bot.url, { kind: "ping" });
    expect((await call("POST", hook(interaction), { content: "x" })).body.code).toBe(10015);
  });
});

describe("the bot's application", () => {
  it("is read with the bot token: its id and public key", async () => {
    expect((await call("GET", "/applications/@me")).status).toBe(401);
    const me = await call("GET", "/applications/@me", undefined, {
      authorization: `Bot ${discord.botToken}`,
    });
    expect(me).toMatchObject({
      status: 200,
      body: { id: discord.applicationId, verify_key: discord.publicKeyHex },
    });
  });
});

describe("channel messages", () => {
  it("need the bot token", async () => {
    const path = `/channels/1300000000000000001/messages`;
    expect((await call("POST", path, { content: "hi" })).status).toBe(401);
    expect((await call("POST", path, { content: "hi" }, { authorization: "Bot wrong" })).status).toBe(401);
    const ok = await call("POST", path, { content: "hi" }, { authorization: `Bot ${discord.botToken}` });
    expect(ok).toMatchObject({ status: 200, body: { content: "hi", channel_id: "1300000000000000001" } });
    expect(discord.posts().map((p) => p.kind)).toEqual(["channel_message"]);
  });
});
