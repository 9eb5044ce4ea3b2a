/**
 * The adapter of each integration type. A new platform adds its folder here and one line below;
 * the resource, the inbound route and the delivery find it through `adapterFor`.
 */
import { ApiError } from "../errors";
import { discord } from "./discord";
import { slack } from "./slack";
import type { IntegrationAdapter, IntegrationType } from "./types";

const ADAPTERS: Partial<Record<IntegrationType, IntegrationAdapter>> = { slack, discord };

/** The adapter of a type; a type this deployment has none for yet is a 400. */
export function adapterFor(type: IntegrationType): IntegrationAdapter {
  const adapter = ADAPTERS[type];
  if (!adapter)
    throw new ApiError(
      400,
      "integration_type_unavailable",
      `Integrations of type "${type}" are not available yet.`,
      {
        param: "type",
      },
    );
  return adapter;
}
