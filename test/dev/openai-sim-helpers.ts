// Shared helpers for the openai-sim test files (each file still starts its own simulator).
import OpenAI from "openai";
import type { Response } from "openai/resources/responses/responses";
import { expect } from "vitest";
import type { OpenAISimHandle } from "../../dev/openai-sim/server.ts";

export const MODEL = "gpt-4.1-mini";

export const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: true,
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the response leaves queued/in_progress; `seen` collects every status observed. */
export async function settle(client: OpenAI, id: string, seen: string[] = []): Promise<Response> {
  for (;;) {
    const response = await client.responses.retrieve(id);
    seen.push(response.status ?? "");
    if (response.status !== "queued" && response.status !== "in_progress") return response;
    await sleep(10);
  }
}

/** Awaits a call that must fail with an API error, and returns that error. */
export async function apiError(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

export const simInfo = async (sim: OpenAISimHandle, id: string) =>
  (await (await fetch(`${sim.url}/__sim/responses/${id}`)).json()) as Record<string, number | string | null>;
