/**
 * Usage of a tenant (pure) in one UTC month: runs accepted, input and output tokens, and an estimated
 * cost per model from the configured price table (USD per million tokens). Runs count in the month
 * they were accepted; their tokens are added to that month when they end (and a response that ends
 * after its run did, seen through OpenAI's webhook, then: store/scripts.ts `countLateUsage`).
 */
/** Fields of a usage hash (store/keys.ts `usage`); per-model fields are `{field}|{model}`. */
const USAGE_FIELDS = {
  runs: "runs",
  input: "input_tokens",
  output: "output_tokens",
  /** Responses whose tokens are estimated (adopted from a conversation's items: engine/lost-create.ts). */
  estimated: "estimated_responses",
  /** Responses that may exist with tokens never seen (engine/run.ts `unseenResponses`). */
  unknown: "unknown_responses",
} as const;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** Milliseconds from `ms` to the start of the next UTC month. */
export function msToNextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - ms;
}

/** Whether the text is a `YYYY-MM` month. */
export const isMonth = (value: string) => MONTH.test(value);

interface ModelUsage {
  model: string;
  runs: number;
  input_tokens: number;
  output_tokens: number;
  estimated_cost_usd: number | null;
}

/** The usage document from the raw counters of a usage hash (`field` and `field|model`). */
export function usageReport(
  tenant: string,
  month: string,
  counters: Record<string, string | number>,
  prices: Record<string, { input: number; output: number }>,
) {
  const byModel = new Map<string, ModelUsage>();
  const n = (v: string | number | undefined) => Number(v ?? 0) || 0;
  for (const [field, value] of Object.entries(counters)) {
    const cut = field.indexOf("|");
    if (cut < 0) continue;
    const model = field.slice(cut + 1);
    const row = byModel.get(model) ?? {
      model,
      runs: 0,
      input_tokens: 0,
      output_tokens: 0,
      estimated_cost_usd: null,
    };
    const metric = field.slice(0, cut);
    if (metric === USAGE_FIELDS.runs) row.runs = n(value);
    if (metric === USAGE_FIELDS.input) row.input_tokens = n(value);
    if (metric === USAGE_FIELDS.output) row.output_tokens = n(value);
    byModel.set(model, row);
  }
  // A model whose counters are all 0 had only runs taken back (abandoned: never accepted).
  const models = [...byModel.values()]
    .filter((m) => m.runs !== 0 || m.input_tokens !== 0 || m.output_tokens !== 0)
    .sort((a, b) => a.model.localeCompare(b.model));
  for (const m of models) m.estimated_cost_usd = cost(m, ownValue(prices, m.model));
  const known = models.filter((m) => m.estimated_cost_usd !== null);
  return {
    object: "usage" as const,
    tenant,
    month,
    runs: n(ownValue(counters, USAGE_FIELDS.runs)),
    input_tokens: n(ownValue(counters, USAGE_FIELDS.input)),
    output_tokens: n(ownValue(counters, USAGE_FIELDS.output)),
    /**
     * Of the responses counted, how many have estimated tokens (a create whose answer was lost,
     * adopted from the conversation's items, which carry no usage: engine/lost-create.ts
     * `estimatedUsage`); their real usage replaces the estimate when OpenAI's webhook brings it.
     */
    estimated_responses: n(ownValue(counters, USAGE_FIELDS.estimated)),
    /**
     * Responses that may have run upstream with tokens never seen, so not counted (a `call` QStash
     * got no answer for; a create whose outcome was unknown when its run ended), unless OpenAI's
     * webhook brought them later.
     */
    unknown_responses: n(ownValue(counters, USAGE_FIELDS.unknown)),
    estimated_cost_usd: round(known.reduce((sum, m) => sum + (m.estimated_cost_usd ?? 0), 0)),
    /** Models without a price are counted but not costed. */
    unpriced_models: models.filter((m) => m.estimated_cost_usd === null).map((m) => m.model),
    models,
  };
}

/**
 * A table's own entry only: a model may be named `constructor` or `__proto__`, which a plain index
 * would find on Object.prototype.
 */
function ownValue<T>(table: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

function cost(m: ModelUsage, price: { input: number; output: number } | undefined): number | null {
  if (!price) return null;
  return round((m.input_tokens * price.input + m.output_tokens * price.output) / 1e6);
}
