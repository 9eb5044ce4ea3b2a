/**
 * Only what the model accepts goes upstream: sampling parameters only when set and only to models
 * that take them, a reasoning effort only to reasoning models, nothing optional to unknown families.
 */
import { describe, expect, it } from "vitest";
import { modelOptions } from "../../src/engine/models";
import type { ResponseRequest } from "../../src/engine/upstream-types";
import { responseBody } from "../../src/upstream/openai";

const request = (over: Partial<ResponseRequest>): ResponseRequest => ({
  model: "gpt-4.1",
  instructions: null,
  input: "hi",
  tools: [],
  tool_choice: "auto",
  parallel_tool_calls: true,
  response_format: "auto",
  conversation: "conv_1",
  temperature: null,
  top_p: null,
  max_output_tokens: null,
  reasoning_effort: null,
  truncation: "auto",
  metadata: {},
  ...over,
});

describe("modelOptions", () => {
  it.each([
    ["gpt-4.1", true, false],
    ["gpt-4o-mini", true, false],
    ["ft:gpt-4o-mini:acme::x1", true, false],
    ["gpt-3.5-turbo", true, false],
    ["o3-mini", false, true],
    ["o1", false, true],
    ["gpt-5", false, true],
    ["gpt-5.2", false, true],
    ["gpt-5-chat-latest", false, false],
    ["llama-3-70b", false, false],
    ["my-deployment", false, false],
  ])("%s: sampling %s, reasoning %s", (model, sampling, reasoning) => {
    expect(modelOptions(model)).toEqual({ sampling, reasoning });
  });
});

describe("responseBody", () => {
  it("sends no sampling parameters when neither the assistant nor the run set them", () => {
    const body = responseBody(request({}), { background: true });
    expect(body).not.toHaveProperty("temperature");
    expect(body).not.toHaveProperty("top_p");
    expect(body).not.toHaveProperty("reasoning");
  });

  it("sends the sampling parameters that were set to a model that takes them", () => {
    const body = responseBody(request({ temperature: 0.2, top_p: 0.9 }), { background: true });
    expect(body).toMatchObject({ temperature: 0.2, top_p: 0.9 });
  });

  it("sends a reasoning model no sampling parameters, even set ones, but its reasoning effort", () => {
    const body = responseBody(
      request({ model: "o3-mini", temperature: 0.2, top_p: 0.9, reasoning_effort: "low" }),
      { background: true },
    );
    expect(body).not.toHaveProperty("temperature");
    expect(body).not.toHaveProperty("top_p");
    expect(body).toMatchObject({ reasoning: { effort: "low" } });
  });

  it("sends an unknown model family nothing optional", () => {
    const body = responseBody(
      request({ model: "acme-llm", temperature: 0.2, top_p: 0.9, reasoning_effort: "low" }),
      { background: false },
    );
    expect(Object.keys(body).sort()).toEqual(
      ["background", "conversation", "input", "metadata", "model", "store", "truncation"].sort(),
    );
    expect(body.background).toBe(false);
  });
});

describe("truncation", () => {
  it("every response is created with truncation auto (a long thread is cut, not refused)", () => {
    expect(responseBody(request({}), { background: true })).toMatchObject({ truncation: "auto" });
    expect(responseBody(request({}), { background: false })).toMatchObject({ truncation: "auto" });
  });
});
