// The simulator refuses what real models refuse: sampling parameters on reasoning models,
// `reasoning` on models without it (OpenAI's "Unsupported parameter" 400).
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAISimHandle, startOpenAISim } from "../../dev/openai-sim/server.ts";
import { apiError } from "./openai-sim-helpers.ts";

let sim: OpenAISimHandle;
let client: OpenAI;

beforeAll(async () => {
  sim = await startOpenAISim({ timeScale: 0.01 });
  client = new OpenAI({ baseURL: sim.baseURL, apiKey: sim.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await sim?.close();
});

describe("model parameters", () => {
  it("refuses temperature on a reasoning model", async () => {
    const err = await apiError(
      client.responses.create({ model: "o3-mini", input: "hi", background: true, temperature: 1 }),
    );
    expect(err.status).toBe(400);
    expect(err.param).toBe("temperature");
    expect(err.message).toContain("not supported with this model");
  });

  it("refuses top_p on gpt-5 and reasoning on gpt-4.1", async () => {
    expect((await apiError(client.responses.create({ model: "gpt-5", input: "hi", top_p: 1 }))).param).toBe(
      "top_p",
    );
    const noReasoning = await apiError(
      client.responses.create({ model: "gpt-4.1", input: "hi", reasoning: { effort: "low" } }),
    );
    expect(noReasoning.param).toBe("reasoning.effort");
  });

  it("accepts a reasoning model without sampling parameters", async () => {
    const r = await client.responses.create({ model: "o3-mini", input: "hi", background: true });
    expect(r.status).toBe("queued");
  });
});
