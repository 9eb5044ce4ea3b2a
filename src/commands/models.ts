/**
 * The models a deployment serves (`ALLOWED_MODELS`): listed at `/v1/models` as OpenAI's model
 * objects, so SDK helpers and tools that check a model name first find it, and enforced where an
 * assistant or a run names a model. Without the list any model is accepted, and the models priced
 * in `MODEL_PRICES` are the ones listed.
 */
import type { Config } from "../config";
import { ApiError, notFound } from "../errors";

type ModelConfig = Pick<Config, "allowedModels" | "modelPrices">;

/** OpenAI's model object; threadhook knows no creation time, so `created` is 0. */
const modelObject = (id: string) => ({ id, object: "model" as const, created: 0, owned_by: "threadhook" });

const listed = (config: ModelConfig) =>
  config.allowedModels.length > 0 ? config.allowedModels : Object.keys(config.modelPrices).sort();

export function listModels(config: ModelConfig) {
  return { object: "list" as const, data: listed(config).map(modelObject) };
}

/** One model: a listed one, or any name when the deployment does not restrict models. */
export function getModel(config: ModelConfig, id: string) {
  if (config.allowedModels.length > 0 && !config.allowedModels.includes(id))
    throw notFound("model", id, "model");
  return modelObject(id);
}

/** Refuse a model the deployment does not serve (nothing to check when no model is named). */
export function checkModel(config: Pick<Config, "allowedModels">, model: string | null | undefined): void {
  if (!model || config.allowedModels.length === 0 || config.allowedModels.includes(model)) return;
  throw new ApiError(
    400,
    "model_not_allowed",
    `The model '${model}' is not served here. Available: ${config.allowedModels.join(", ")}.`,
    { param: "model" },
  );
}
