/**
 * Issue 16: LangChain's `OpenAIAssistantRunnable` (langchain 0.3, the last line that ships it) runs
 * against threadhook unchanged: as an `AgentExecutor` agent that calls a LangChain tool through the
 * Assistants function-calling loop, directly, and by hand on an existing thread.
 */
import { DynamicStructuredTool } from "@langchain/core/tools";
import { AgentExecutor } from "langchain/agents";
import { OpenAIAssistantRunnable } from "langchain/experimental/openai_assistant";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type E2E, startE2E } from "../support/e2e";
import { checkedSdkFetch } from "../support/openapi-check";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => e2e?.close());

const clientOptions = () => ({
  baseURL: `${e2e.worker}/v1`,
  apiKey: e2e.stack.ready.apiKey as string,
  fetch: checkedSdkFetch,
});

describe("LangChain OpenAIAssistantRunnable", () => {
  it("as an AgentExecutor agent, calls its tool and answers with the tool's result", async () => {
    const cities: string[] = [];
    const weather = new DynamicStructuredTool({
      name: "get_weather",
      description: "The weather in a city",
      schema: z.object({ city: z.string() }),
      func: async ({ city }: { city: string }) => {
        cities.push(city);
        return `sunny in ${city}`;
      },
    });
    const agent = await OpenAIAssistantRunnable.createAssistant({
      clientOptions: clientOptions(),
      model: "gpt-sim",
      name: "Weather agent",
      instructions: "Use the tool.",
      tools: [weather],
      asAgent: true,
      pollIntervalMs: 100,
    });
    const executor = AgentExecutor.fromAgentAndTools({ agent, tools: [weather] });
    const result = await executor.invoke({
      content: 'weather? #sim {"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}',
    });
    expect(cities).toEqual(["Paris"]);
    expect(result.output).toBe('tool results: ["sunny in Paris"]');
  });

  it("directly: invoke returns the run's messages; by hand: a second message on the same thread", async () => {
    const assistant = await OpenAIAssistantRunnable.createAssistant({
      clientOptions: clientOptions(),
      model: "gpt-sim",
      name: "Plain",
      instructions: "Be brief.",
      pollIntervalMs: 100,
    });
    const first = (await assistant.invoke({ content: "hello langchain" })) as any[];
    expect(first.map((m) => m.content[0].text.value)).toEqual(["echo: hello langchain"]);
    const threadId = first[0].thread_id as string;
    const second = (await assistant.invoke({ threadId, content: "and again" })) as any[];
    expect(second.map((m) => [m.thread_id, m.content[0].text.value])).toEqual([
      [threadId, "echo: and again"],
    ]);
  });
});
