// The route table's building blocks, shared by routes.ts and file-routes.ts.
import type http from "node:http";
import { sendJson } from "./http.ts";
import type { SimState } from "./state.ts";

export type RouteContext = {
  state: SimState;
  res: http.ServerResponse;
  params: string[];
  query: URLSearchParams;
  body: () => Record<string, unknown>;
  /** The raw request body and its content type (multipart uploads). */
  raw: Buffer;
  contentType: string;
  /** Who sent the request: QStash (a `call`: it carries `Upstash-Message-Id`) or anyone else. */
  via: "qstash" | "direct";
};

export type Route = {
  method: string;
  pattern: RegExp;
  name: string;
  handle: (ctx: RouteContext) => unknown;
};

export const ID = "([^/]+)";
export const route = (method: string, path: string, handle: Route["handle"]): Route => ({
  method,
  name: `${method} /v1${path.replaceAll(ID, "{id}")}`,
  pattern: new RegExp(`^${path}$`),
  handle,
});

export const json = (ctx: RouteContext, body: unknown): void => sendJson(ctx.res, 200, body);

/** Binary content (file downloads). */
export function sendBytes(ctx: RouteContext, body: Buffer, type: string): void {
  ctx.res.writeHead(200, { "content-type": type, "content-length": String(body.length) });
  ctx.res.end(body);
}
