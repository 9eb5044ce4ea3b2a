// Small HTTP helpers shared by the routes.
import type http from "node:http";

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

export const error = (status: number, message: string): Reply => ({ status, body: { error: message } });

export function send(res: http.ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
  res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
  res.end(text);
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** `Authorization: Bearer <token>`, or `?qstash_token=` as the real service also accepts. */
export function authorized(req: http.IncomingMessage, query: URLSearchParams, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return (match?.[1] ?? query.get("qstash_token")) === token;
}

/** Header pairs with their original case (names compared case-insensitively). */
export type HeaderList = Array<[string, string]>;

export function getHeader(list: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of list) if (key.toLowerCase() === lower) return value;
  return undefined;
}

export function requestHeaders(req: http.IncomingMessage): HeaderList {
  const list: HeaderList = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    list.push([req.rawHeaders[i] ?? "", req.rawHeaders[i + 1] ?? ""]);
  }
  return list;
}

/** Multi-valued view `{Name: [values]}` used by the messages API and callback payloads. */
export function multiValued(list: Iterable<[string, string]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of list) {
    const values = out[key] ?? [];
    values.push(value);
    out[key] = values;
  }
  return out;
}
