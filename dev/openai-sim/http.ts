// HTTP plumbing shared by the simulator's routes: bodies, JSON replies, OpenAI-shaped errors, ids.
import { randomBytes } from "node:crypto";
import type http from "node:http";

export type ErrorType = "invalid_request_error" | "server_error" | "requests" | "tokens";

/** An error answered as OpenAI does: `{ error: { message, type, param, code } }`. */
export class SimError extends Error {
  status: number;
  type: ErrorType;
  param: string | null;
  code: string | null;
  headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    extra: {
      type?: ErrorType;
      param?: string | null;
      code?: string | null;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.status = status;
    this.type = extra.type ?? "invalid_request_error";
    this.param = extra.param ?? null;
    this.code = extra.code ?? null;
    this.headers = extra.headers ?? {};
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const notFound = (what: string, id: string, param: string | null = null): SimError =>
  new SimError(404, `${what} with id '${id}' not found.`, { param });

export const missingParam = (param: string): SimError =>
  new SimError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" });

export const invalidParam = (
  param: string,
  detail: string,
  code: string | null = "invalid_value",
): SimError => new SimError(400, `Invalid '${param}': ${detail}`, { param, code });

/** Upstream-like ids: a prefix and 48 hex characters (`resp_…`, `conv_…`, `msg_…`, `fc_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString("hex")}`;
}

/** Tool call ids are shorter upstream (`call_` + 24 characters). */
export function newCallId(): string {
  return `call_${randomBytes(12).toString("hex")}`;
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Parses a JSON object body; an empty body is `{}` (the SDK sends none on cancel). */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new SimError(
      400,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    );
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new SimError(400, "The request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "x-request-id": newId("req").slice(0, 36),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, error: SimError): void {
  sendJson(res, error.status, error.body(), error.headers);
}

export const nowSeconds = (ms: number = Date.now()): number => Math.floor(ms / 1000);
