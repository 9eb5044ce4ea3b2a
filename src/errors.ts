/**
 * One error module: every 4xx/5xx body is `{ error: { type, code, message, param } }` (the OpenAI
 * shape, so the Assistants-compatible API and the `openai` SDK read it unchanged).
 */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "conflict_error"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable_error";

const TYPE_BY_STATUS: Record<number, ErrorType> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  409: "conflict_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  422: "invalid_request_error",
  429: "rate_limit_error",
  503: "service_unavailable_error",
};

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503;

export class ApiError extends Error {
  readonly status: ErrorStatus;
  readonly code: string | null;
  readonly param: string | null;
  readonly type: ErrorType;
  readonly headers: Record<string, string>;

  constructor(
    status: ErrorStatus,
    code: string | null,
    message: string,
    opts: { param?: string | null; type?: ErrorType; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.param = opts.param ?? null;
    this.type = opts.type ?? TYPE_BY_STATUS[status] ?? "server_error";
    this.headers = opts.headers ?? {};
  }

  toBody(): ErrorBody {
    return { error: { type: this.type, code: this.code, message: this.message, param: this.param } };
  }
}

export interface ErrorBody {
  error: { type: ErrorType; code: string | null; message: string; param: string | null };
}

export const notFound = (what: string, id: string, param?: string) =>
  new ApiError(404, `${what}_not_found`, `No ${what} found with id '${id}'.`, { param: param ?? null });

export const badRequest = (code: string, message: string, param?: string) =>
  new ApiError(400, code, message, { param: param ?? null });
