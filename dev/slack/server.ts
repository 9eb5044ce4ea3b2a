// Slack Web API stand-in: the methods threadhook calls (auth.test, chat.postMessage, chat.update)
// and slash commands' response URLs, with Slack's wire behaviour (HTTP 200 with `ok: false` and an
// `error` for refusals, 429 with Retry-After when rate-limited, JSON or form bodies, bearer or form
// token). It keeps what the bot posted, for tests and for people (GET /, GET /posts).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { flatHeaders, readBody, reply } from "../inbox/http.ts";

/** Fixed dev identities of the stand-in's one workspace and app (documented in the README). */
export const SLACK_DEV = {
  botToken: "xoxb-threadhook-dev-0000000000",
  signingSecret: "threadhook-dev-slack-signing-secret",
  teamId: "T0THREADHK",
  appId: "A0THREADHK",
  botUserId: "U0THREADBOT",
  botId: "B0THREADBOT",
} as const;

/** Slack cuts longer `text`; the API refuses it with `msg_too_long`. */
export const SLACK_TEXT_LIMIT = 40_000;
/** A response_url takes this many posts (and lives 30 minutes). */
export const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60_000;

export type SlackPost = {
  seq: number;
  /** `chat.postMessage`, `chat.update`, or `response_url`. */
  kind: "chat.postMessage" | "chat.update" | "response_url";
  channel: string | null;
  ts: string | null;
  thread_ts: string | null;
  text: string;
  /** The whole request as Slack got it (JSON or form fields). */
  args: Record<string, unknown>;
  at_ms: number;
};

export type PostFilter = { kind?: SlackPost["kind"]; channel?: string; thread_ts?: string };

export type SlackOptions = { port?: number; host?: string };

export type SlackHandle = {
  url: string;
  /** The Web API base (SLACK_API_URL): `{url}/api`. */
  apiUrl: string;
  team: typeof SLACK_DEV;
  posts(filter?: PostFilter): SlackPost[];
  /** Wait until at least `min` posts match (default timeout 10 s); returns the matches. */
  waitForPosts(min: number, filter?: PostFilter & { timeoutMs?: number }): Promise<SlackPost[]>;
  /** A fresh response URL, as Slack puts in a slash command's payload. */
  responseUrl(): string;
  /**
   * The next `k` Web API calls (after `skip` that go through) answer this error (`ratelimited`:
   * HTTP 429 with Retry-After).
   */
  failNext(k: number, error?: string, skip?: number): void;
  /** Calls per method (`auth.test`, …, `response_url`). */
  calls(): Record<string, number>;
  reset(): void;
  close(): Promise<void>;
};

const matches = (p: SlackPost, f: PostFilter) =>
  (f.kind === undefined || p.kind === f.kind) &&
  (f.channel === undefined || p.channel === f.channel) &&
  (f.thread_ts === undefined || p.thread_ts === f.thread_ts);

export async function startSlack(opts: SlackOptions = {}): Promise<SlackHandle> {
  let posts: SlackPost[] = [];
  let seq = 0;
  let tsCounter = 0;
  let failures = { skip: 0, left: 0, error: "internal_error" };
  let calls: Record<string, number> = {};
  const hooks = new Map<string, { uses: number; expires: number }>();
  const messages = new Map<string, { channel: string; text: string; thread_ts: string | null }>();
  const waiters = new Set<() => void>();
  let base = "";

  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, "0")}`;
  const record = (p: Omit<SlackPost, "seq" | "at_ms">) => {
    posts.push({ ...p, seq: ++seq, at_ms: Date.now() });
    for (const wake of [...waiters]) wake();
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      reply(res, 500, { ok: false, error: `stand-in: ${String(error)}` }),
    );
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://localhost");
    const raw = (await readBody(req)).toString("utf8");
    const headers = flatHeaders(req.headers);
    if (req.method === "GET" && url.pathname === "/") return reply(res, 200, page(posts), "text/html");
    if (req.method === "GET" && url.pathname === "/posts") return reply(res, 200, { posts });
    if (req.method === "GET" && url.pathname === "/__stats") return reply(res, 200, { calls });
    const api = /^\/api\/([A-Za-z.]+)$/.exec(url.pathname);
    if (api && req.method === "POST") return webApi(api[1] as string, raw, headers, res);
    const hook = /^\/hooks\/commands\/([A-Za-z0-9]+)$/.exec(url.pathname);
    if (hook && req.method === "POST") return responseUrlPost(hook[1] as string, raw, res);
    reply(res, 404, { ok: false, error: "unknown_method" });
  }

  function webApi(method: string, raw: string, headers: Record<string, string>, res: http.ServerResponse) {
    calls[method] = (calls[method] ?? 0) + 1;
    const args = parseArgs(raw, headers["content-type"] ?? "");
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
    const token = bearer ?? (typeof args.token === "string" ? args.token : undefined);
    if (failures.left > 0 && failures.skip > 0) failures.skip--;
    else if (failures.left > 0) {
      failures.left--;
      if (failures.error === "ratelimited")
        return reply(res, 429, { ok: false, error: "ratelimited" }, "application/json", {
          "retry-after": "1",
        });
      return reply(res, 200, { ok: false, error: failures.error });
    }
    if (!token) return reply(res, 200, { ok: false, error: "not_authed" });
    if (token !== SLACK_DEV.botToken) return reply(res, 200, { ok: false, error: "invalid_auth" });
    if (method === "auth.test")
      return reply(res, 200, {
        ok: true,
        url: "https://threadhook-dev.slack.com/",
        team: "threadhook dev",
        user: "threadhook",
        team_id: SLACK_DEV.teamId,
        user_id: SLACK_DEV.botUserId,
        bot_id: SLACK_DEV.botId,
        app_id: SLACK_DEV.appId,
        is_enterprise_install: false,
      });
    if (method === "chat.postMessage") return postMessage(args, res);
    if (method === "chat.update") return update(args, res);
    reply(res, 200, { ok: false, error: "unknown_method" });
  }

  function postMessage(args: Record<string, unknown>, res: http.ServerResponse) {
    const channel = str(args.channel);
    const text = str(args.text) ?? "";
    if (!channel) return reply(res, 200, { ok: false, error: "channel_not_found" });
    if (!text && !args.blocks && !args.attachments) return reply(res, 200, { ok: false, error: "no_text" });
    if (text.length > SLACK_TEXT_LIMIT) return reply(res, 200, { ok: false, error: "msg_too_long" });
    const ts = nextTs();
    const thread_ts = str(args.thread_ts) ?? null;
    messages.set(`${channel}/${ts}`, { channel, text, thread_ts });
    record({ kind: "chat.postMessage", channel, ts, thread_ts, text, args });
    const message = {
      type: "message",
      text,
      user: SLACK_DEV.botUserId,
      bot_id: SLACK_DEV.botId,
      app_id: SLACK_DEV.appId,
      team: SLACK_DEV.teamId,
      ts,
      ...(thread_ts ? { thread_ts } : {}),
    };
    reply(res, 200, { ok: true, channel, ts, message });
  }

  function update(args: Record<string, unknown>, res: http.ServerResponse) {
    const channel = str(args.channel);
    const ts = str(args.ts);
    if (!channel) return reply(res, 200, { ok: false, error: "channel_not_found" });
    if (!ts) return reply(res, 200, { ok: false, error: "message_not_found" });
    const old = messages.get(`${channel}/${ts}`);
    if (!old) return reply(res, 200, { ok: false, error: "message_not_found" });
    const text = str(args.text) ?? "";
    if (text.length > SLACK_TEXT_LIMIT) return reply(res, 200, { ok: false, error: "msg_too_long" });
    messages.set(`${channel}/${ts}`, { ...old, text });
    record({ kind: "chat.update", channel, ts, thread_ts: old.thread_ts, text, args });
    reply(res, 200, {
      ok: true,
      channel,
      ts,
      text,
      message: { type: "message", text, user: SLACK_DEV.botUserId, bot_id: SLACK_DEV.botId },
    });
  }

  function responseUrlPost(id: string, raw: string, res: http.ServerResponse) {
    calls.response_url = (calls.response_url ?? 0) + 1;
    const hook = hooks.get(id);
    if (!hook || hook.expires < Date.now()) return reply(res, 404, "no_active_hooks", "text/plain");
    if (hook.uses >= RESPONSE_URL_USES) return reply(res, 404, "used_url", "text/plain");
    const args = parseArgs(raw, "application/json");
    const text = str(args.text) ?? "";
    if (!text && !args.blocks) return reply(res, 400, "no_text", "text/plain");
    hook.uses++;
    record({ kind: "response_url", channel: null, ts: null, thread_ts: null, text, args });
    reply(res, 200, "ok", "text/plain");
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  base = `http://${address.address}:${address.port}`;
  let hookSeq = 0;

  return {
    url: base,
    apiUrl: `${base}/api`,
    team: SLACK_DEV,
    posts: (filter = {}) => structuredClone(posts.filter((p) => matches(p, filter))),
    waitForPosts: (min, filter = {}) => {
      const { timeoutMs = 10_000, ...f } = filter;
      const found = () => structuredClone(posts.filter((p) => matches(p, f)));
      return new Promise((resolve) => {
        const finish = () => {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found());
        };
        const check = () => {
          if (found().length >= min) finish();
        };
        const timer = setTimeout(finish, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    responseUrl: () => {
      const id = `${Date.now().toString(36)}${(++hookSeq).toString(36)}`;
      hooks.set(id, { uses: 0, expires: Date.now() + RESPONSE_URL_TTL_MS });
      return `${base}/hooks/commands/${id}`;
    },
    failNext: (k, error = "internal_error", skip = 0) => {
      failures = { skip, left: k, error };
    },
    calls: () => ({ ...calls }),
    reset: () => {
      posts = [];
      calls = {};
      failures = { skip: 0, left: 0, error: "internal_error" };
    },
    close: async () => {
      for (const wake of [...waiters]) wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

/** Slack takes JSON bodies and form bodies (the official client sends forms). */
function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes("json")) {
    try {
      const v: unknown = JSON.parse(raw || "{}");
      return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** What the bot posted, newest first (the inbox page shows the same list). */
export function postRows(posts: SlackPost[]): string {
  return [...posts]
    .reverse()
    .map(
      (p) =>
        `<tr><td>${p.seq}</td><td>${new Date(p.at_ms).toISOString()}</td><td>${p.kind}</td><td>${escapeHtml(p.channel ?? "")}</td><td>${escapeHtml(p.thread_ts ?? "")}</td><td><pre>${escapeHtml(p.text)}</pre></td></tr>`,
    )
    .join("\n");
}

export const POSTS_TABLE_HEAD =
  "<tr><th>#</th><th>at</th><th>how</th><th>channel</th><th>thread</th><th>text</th></tr>";

/** The posts as an HTML table (this stand-in's page and the inbox page show it). */
export const postsTable = (posts: SlackPost[]) =>
  `<table><thead>${POSTS_TABLE_HEAD}</thead><tbody>${postRows(posts)}</tbody></table>`;

function page(posts: SlackPost[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>Slack stand-in</title><style>body{font-family:system-ui,sans-serif;margin:1.5rem}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}pre{margin:0;white-space:pre-wrap}</style></head>
<body><h1>What the bot posted in Slack</h1><p>JSON: <a href="/posts">/posts</a></p>
${postsTable(posts)}</body></html>`;
}
