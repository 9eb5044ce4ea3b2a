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

/** The store refuses a run document past MAX_RUN_DOC_BYTES (engine/bounds.ts). */
export const runTooLarge = (bytes: number, max: number) =>
  new ApiError(
    413,
    "run_too_large",
    `The run's record would be ${bytes} bytes; the most a run may hold is ${max}.`,
  );

/** A thread holds MAX_HELD_MESSAGES for its next run already. */
export const tooManyHeldMessages = (threadId: string, max: number) =>
  new ApiError(
    409,
    "too_many_held_messages",
    `Thread ${threadId} already holds ${max} messages for its next run, the most it may; run it (or delete some) before adding more.`,
    { param: "thread_id" },
  );

/** QStash refused a publish: its daily message quota is spent, or its rate limit was hit. */
export type QueueRefusal = "daily_quota" | "rate_limit";
const REFUSAL_CODES: Record<QueueRefusal, string> = {
  daily_quota: "queue_quota_exceeded",
  rate_limit: "queue_rate_limited",
};

/**
 * The error a refused publish becomes: `503` with `Retry-After` (seconds until QStash accepts again).
 * A caller retries its request then; QStash redelivers a step that answered it then.
 */
export function queueRefused(kind: QueueRefusal, retryAfterS: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterS));
  const what =
    kind === "daily_quota" ? "QStash's daily message quota is spent" : "QStash's rate limit was hit";
  return new ApiError(503, REFUSAL_CODES[kind], `${what}; retry in ${seconds} s.`, {
    headers: { "Retry-After": String(seconds) },
  });
}

export const isQueueRefusal = (err: unknown): err is ApiError =>
  err instanceof ApiError && Object.values(REFUSAL_CODES).includes(err.code ?? "");
