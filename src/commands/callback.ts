/** A run's callback as a caller gives it: the URL through the outbound policy, and a secret to sign with. */
import type { Config } from "../config";
import type { RunRecord } from "../engine/types";
import { ApiError } from "../errors";
import { DEFAULT_TENANT } from "../security/principal";
import { checkOutboundUrl } from "../security/url-policy";
import { signingSecrets, type TenantDeps } from "./tenants";

export async function callbackFor(
  deps: { tenants: TenantDeps["tenants"]; config: Config; now: () => number },
  tenant: string,
  url: string,
  headers: Record<string, string> | undefined,
): Promise<NonNullable<RunRecord["callback"]>> {
  const { config } = deps;
  const verdict = checkOutboundUrl(url, { devMode: config.devMode });
  if (!verdict.ok)
    throw new ApiError(400, `callback_url_${verdict.reason}`, `callback_url refused: ${verdict.message}`, {
      param: "callback_url",
    });
  // Tenants made through the admin API always have a secret; "default" may have none of its own.
  const unsigned = tenant === DEFAULT_TENANT && !config.webhookSecret;
  if (unsigned && (await signingSecrets(deps, tenant, deps.now())).length === 0)
    throw new ApiError(
      503,
      "service_not_configured",
      "No webhook secret to sign callbacks with: set WEBHOOK_SECRET or rotate the tenant's secret.",
    );
  return { url: verdict.url.href, headers: headers ?? {} };
}
