/** A run's callback as a caller gives it: the URL through the outbound policy, and a secret to sign with. */
import type { Config } from "../config";
import type { RunRecord } from "../engine/types";
import { ApiError } from "../errors";
import { checkOutboundUrl } from "../security/url-policy";

export function callbackFor(
  config: Config,
  url: string,
  headers: Record<string, string> | undefined,
): NonNullable<RunRecord["callback"]> {
  const verdict = checkOutboundUrl(url, { devMode: config.devMode });
  if (!verdict.ok)
    throw new ApiError(400, `callback_url_${verdict.reason}`, `callback_url refused: ${verdict.message}`, {
      param: "callback_url",
    });
  if (!config.webhookSecret)
    throw new ApiError(
      503,
      "service_not_configured",
      "WEBHOOK_SECRET is not configured: callbacks cannot be signed.",
    );
  return { url: verdict.url.href, headers: headers ?? {} };
}
