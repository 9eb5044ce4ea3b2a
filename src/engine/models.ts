/**
 * What a model accepts beyond `model`, `input` and the tools: sampling parameters (`temperature`,
 * `top_p`) or a reasoning effort. Reasoning models refuse sampling parameters ("Unsupported
 * parameter: 'temperature' is not supported with this model"), and models without reasoning
 * refuse `reasoning`. A model of a family not listed here gets neither: sending nothing optional
 * cannot make a create fail.
 */
export interface ModelOptions {
  sampling: boolean;
  reasoning: boolean;
}

const SAMPLING_FAMILIES = [/^gpt-4/, /^gpt-3\.5/, /^chatgpt-4o/];
const REASONING_FAMILIES = [/^o\d/, /^gpt-5(?!.*-chat)/, /^codex-/];

/** Fine-tuned models (`ft:gpt-4o-mini:org::id`) belong to their base model's family. */
const baseModel = (model: string) => model.replace(/^ft:/, "").toLowerCase();

export function modelOptions(model: string): ModelOptions {
  const base = baseModel(model);
  if (REASONING_FAMILIES.some((re) => re.test(base))) return { sampling: false, reasoning: true };
  if (SAMPLING_FAMILIES.some((re) => re.test(base))) return { sampling: true, reasoning: false };
  return { sampling: false, reasoning: false };
}
