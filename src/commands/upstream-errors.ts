/** OpenAI's answers to a caller's file or vector store request, as the API's errors. */
import { ApiError, type ErrorStatus } from "../errors";
import { UpstreamError } from "../upstream/openai";

const PASSED: ReadonlySet<number> = new Set([400, 404, 409, 413, 415, 422]);

/**
 * Rethrow an upstream failure as an ApiError: 404 as the caller's own not-found (an id the tenant
 * owns but OpenAI no longer has), other 4xx with OpenAI's message, the rest as 502 (retry later).
 */
export function fromUpstream(err: unknown, notFound: () => ApiError): never {
  if (!(err instanceof UpstreamError)) throw err;
  if (err.status === 404) throw notFound();
  if (err.status !== null && PASSED.has(err.status))
    throw new ApiError(err.status as ErrorStatus, err.code, err.message);
  throw new ApiError(502, "upstream_unavailable", "OpenAI did not answer this request; retry it.", {
    type: "server_error",
  });
}

/** Run an upstream call, translating its failure (see fromUpstream). */
export async function upstreamCall<T>(call: () => Promise<T>, notFound: () => ApiError): Promise<T> {
  try {
    return await call();
  } catch (err) {
    fromUpstream(err, notFound);
  }
}
