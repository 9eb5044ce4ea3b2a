// Discord stand-in: the interaction side of Discord's API for a bot that takes HTTP interactions.
// It sends signed interactions to the bot's endpoint (`interact`), and serves the bot's answers:
// edit the original response and follow-ups through the interaction's webhook (token valid 15
// minutes from the interaction), and channel messages with the bot token. It records every post.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type FaultRule, Faults } from "../faults.ts";
import { flatHeaders, parseMaybeJson, readBody, reply } from "../inbox/http.ts";
import { type DiscordSigner, newSigner } from "./signer.ts";
import { ACK_DEADLINE_MS, DiscordState, type Message, type Post, type Sent } from "./state.ts";
import { discordError, discordRest } from "./rest.ts";
import { type BuiltInteraction, buildInteraction, type InteractOptions } from "./interactions.ts";

export type PostFilter = { interaction_id?: string; channel_id?: string; kind?: Post["kind"] };

export const DISCORD_FAULT_KINDS = ["error", "timeout"] as const;
/** The dev application's id and bot token (documented in dev/discord/README.md). */
export const DEV_DISCORD_APP_ID = "1100000000000000001";
export const DEV_DISCORD_BOT_TOKEN = "dev-discord-bot-token-0000000000";

export type DiscordOptions = {
  port?: number;
  host?: string;
  applicationId?: string;
  botToken?: string;
  faultRules?: FaultRule[];
  faultSeed?: number;
};

export type InteractResult = {
  status: number;
  /** The bot's answer: parsed JSON when it was JSON, else the text. */
  body: unknown;
  ack_ms: number;
  interaction: BuiltInteraction;
};

export type DiscordHandle = {
  url: string;
  /** What DISCORD_API_URL points at (`{url}/api/v10`). */
  apiUrl: string;
  applicationId: string;
  botToken: string;
  publicKeyHex: string;
  signer: DiscordSigner;
  /** Send an interaction to the bot's endpoint, signed (or not, see `signature`), and keep its answer. */
  interact(endpoint: string, opts?: InteractOptions): Promise<InteractResult>;
  posts(filter?: PostFilter): Post[];
  waitForPosts(min: number, filter?: PostFilter & { timeoutMs?: number }): Promise<Post[]>;
  /** The original response message of an interaction, as it stands. */
  original(interactionId: string): Message | null;
  /** What the bot posted, as an HTML table for the inbox page (newest first). */
  postsHtml(): string;
  faults: Faults;
  clear(): void;
  close(): Promise<void>;
};

export async function startDiscord(opts: DiscordOptions = {}): Promise<DiscordHandle> {
  const applicationId = opts.applicationId ?? DEV_DISCORD_APP_ID;
  const botToken = opts.botToken ?? DEV_DISCORD_BOT_TOKEN;
  const signer = await newSigner();
  const state = new DiscordState();
  let requests = 0;
  const rest = discordRest({ state, applicationId, botToken, publicKeyHex: signer.publicKeyHex });
  const message = rest.message;
  const faults = new Faults(DISCORD_FAULT_KINDS, opts.faultRules ?? [], opts.faultSeed ?? 1);
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) =>
      reply(res, 500, { message: `discord stand-in: ${String(err)}`, code: 0 }),
    );
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const raw = (await readBody(req)).toString("utf8");
    if (url.pathname === "/__faults") {
      const answer = faults.control(method, raw);
      return reply(res, answer.status, answer.body);
    }
    if (method === "GET" && url.pathname === "/posts")
      return reply(res, 200, { object: "list", data: state.list() });
    if (method === "GET" && url.pathname === "/__stats") return reply(res, 200, stats());
    if (method === "POST" && url.pathname === "/__discord/clear") {
      state.clear();
      return reply(res, 200, { ok: true });
    }
    requests++;
    const route = /^\/api\/v10(\/.*)$/.exec(url.pathname)?.[1];
    if (!route) return reply(res, 404, discordError("404: Not Found", 0));
    const subject = `${method} ${route}`;
    const fault = faults.take("error", subject) ?? faults.take("timeout", subject);
    if (fault?.kind === "timeout") {
      setTimeout(() => res.destroy(), fault.delayMs ?? 15_000);
      return;
    }
    if (fault?.kind === "error") {
      const status = fault.status ?? 500;
      const retry = fault.retryAfterS ?? 1;
      if (status === 429)
        return reply(
          res,
          429,
          { message: "You are being rate limited.", retry_after: retry, global: false },
          "application/json",
          {
            "retry-after": String(Math.ceil(retry)),
          },
        );
      return reply(res, status, discordError(`${status}: injected by the stand-in`, 0));
    }
    const body = parseMaybeJson(raw);
    const answer = rest.api(method, route, body, flatHeaders(req.headers));
    reply(res, answer.status, answer.body);
  }

  function stats() {
    const byKind: Record<string, number> = {};
    for (const p of state.list()) byKind[p.kind] = (byKind[p.kind] ?? 0) + 1;
    return { requests, interactions: state.byToken.size, posts: state.list().length, byKind };
  }

  async function interact(endpoint: string, o: InteractOptions = {}): Promise<InteractResult> {
    const interaction = buildInteraction(applicationId, o);
    const raw = JSON.stringify(interaction);
    const signed = await signer.sign(raw, o.timestampS);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "Discord-Interactions/1.0 (+https://discord.com)",
    };
    if (o.signature !== "none") {
      Object.assign(headers, signed);
      if (o.signature === "bad")
        headers["x-signature-ed25519"] = flipFirstByte(signed["x-signature-ed25519"] as string);
    }
    const sent: Sent = {
      interaction,
      channel_id: interaction.channel_id,
      user_id: interaction.member?.user.id ?? interaction.user?.id ?? "0",
      created_at_ms: o.createdAtMs ?? Date.now(),
      response: null,
      ack_ms: null,
      original: null,
      followups: [],
    };
    state.byToken.set(interaction.token, sent);
    const started = Date.now();
    const res = await fetch(endpoint, {
      method: "POST",
      headers,
      body: raw,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    const ack_ms = Date.now() - started;
    const body = parseMaybeJson(text) as {
      type?: unknown;
      data?: { content?: unknown; flags?: number };
    } | null;
    if (
      res.ok &&
      ack_ms <= ACK_DEADLINE_MS &&
      body &&
      typeof body === "object" &&
      typeof body.type === "number"
    ) {
      sent.response = { type: body.type, ...(body.data ? { data: body.data } : {}) };
      sent.ack_ms = ack_ms;
      if (body.type === 4 || body.type === 5) {
        const content = body.type === 4 ? String(body.data?.content ?? "") : "";
        sent.original = message(
          sent.channel_id,
          content,
          (body.data?.flags ?? 0) | (body.type === 5 ? 128 : 0),
          sent,
        );
        state.record({
          kind: "interaction_response",
          interaction_id: interaction.id,
          channel_id: sent.channel_id,
          content: body.type === 5 ? "(thinking…)" : content,
          message_id: sent.original.id,
        });
      }
    }
    return { status: res.status, body, ack_ms, interaction };
  }

  const matcher =
    (f: PostFilter = {}) =>
    (p: Post) =>
      (f.interaction_id === undefined || p.interaction_id === f.interaction_id) &&
      (f.channel_id === undefined || p.channel_id === f.channel_id) &&
      (f.kind === undefined || p.kind === f.kind);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  return {
    url,
    apiUrl: `${url}/api/v10`,
    applicationId,
    botToken,
    publicKeyHex: signer.publicKeyHex,
    signer,
    interact,
    posts: (filter) => structuredClone(state.list(matcher(filter))),
    waitForPosts: async (min, filter = {}) => {
      const { timeoutMs = 20_000, ...rest } = filter;
      return structuredClone(await state.wait(matcher(rest), min, timeoutMs));
    },
    original: (id) => {
      for (const sent of state.byToken.values())
        if (sent.interaction.id === id) return structuredClone(sent.original);
      return null;
    },
    postsHtml: () => postsTable(state.list()),
    faults,
    clear: () => state.clear(),
    close: async () => {
      state.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function flipFirstByte(hex: string): string {
  const first = (Number.parseInt(hex.slice(0, 2), 16) ^ 0xff).toString(16).padStart(2, "0");
  return first + hex.slice(2);
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function postsTable(posts: Post[]): string {
  const rows = [...posts]
    .reverse()
    .map(
      (p) =>
        `<tr><td>${p.seq}</td><td>${new Date(p.at_ms).toISOString()}</td><td>${p.kind}</td>` +
        `<td>${p.channel_id}</td><td>${p.interaction_id ?? ""}</td><td><pre>${escapeHtml(p.content)}</pre></td></tr>`,
    )
    .join("\n");
  return `<p>${posts.length} posts. JSON: /posts on the Discord stand-in</p>
<table>
<thead><tr><th>#</th><th>at</th><th>what</th><th>channel</th><th>interaction</th><th>content</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}
