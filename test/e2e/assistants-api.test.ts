/**
 * Issue 6 acceptance: existing Assistants v2 code (the official `openai` SDK's `beta` client) runs
 * unchanged against threadhook, through the whole local stack.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, hookPath, startE2E } from "../support/e2e";
import { checkedSdkFetch } from "../support/openapi-check";

let e2e: E2E;
let client: OpenAI;
let assistantId: string;

beforeAll(async () => {
  // Live text relay needs a response created streaming (the `stream` strategy); under the default,
  // `call`, OpenAI's answer comes whole (docs/assistants-api.md).
  e2e = await startE2E({ workerVars: { DRIVE_STRATEGY: "stream" } });
  // The two-line change the README documents: baseURL and apiKey.
  client = new OpenAI({
    baseURL: `${e2e.worker}/v1`,
    apiKey: e2e.stack.ready.apiKey as string,
    maxRetries: 0,
    fetch: checkedSdkFetch,
  });
  assistantId = (
    await client.beta.assistants.create({ model: "gpt-sim", name: "Compat", instructions: "Be brief." })
  ).id;
});
afterAll(async () => e2e?.close());

const textOf = (m: OpenAI.Beta.Threads.Message) =>
  m.content.map((c) => (c.type === "text" ? c.text.value : "")).join("");

/** ~1 s of model time at the suite's time scale (0.01). */
const SLOW = '#sim {"delay_ms": 100000}';

describe("Assistants v2 API through the official SDK", () => {
  it("create assistant → thread → message → createAndPoll → completed; the reply lists first with its run_id", async () => {
    const assistant = await client.beta.assistants.retrieve(assistantId);
    expect(assistant).toMatchObject({
      id: assistantId,
      object: "assistant",
      model: "gpt-sim",
      name: "Compat",
    });
    const thread = await client.beta.threads.create({ metadata: { user: "u1" } });
    expect(thread).toMatchObject({ object: "thread", metadata: { user: "u1" } });
    const msg = await client.beta.threads.messages.create(thread.id, {
      role: "user",
      content: "hello compat",
    });
    expect(msg).toMatchObject({ object: "thread.message", role: "user", thread_id: thread.id, run_id: null });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
    expect(run.status).toBe("completed");
    expect(run.usage?.total_tokens).toBeGreaterThan(0);
    const list = await client.beta.threads.messages.list(thread.id);
    expect(list.data.map((m) => m.role)).toEqual(["assistant", "user"]);
    const [reply] = list.data;
    expect(textOf(reply as OpenAI.Beta.Threads.Message)).toBe("echo: hello compat");
    expect(reply).toMatchObject({ run_id: run.id, assistant_id: assistantId, status: "completed" });
    expect(list.data[1]?.id).toBe(msg.id);
    // The reply is the message the run's message_creation step names, and can be read by id.
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id });
    expect(steps.data[0]?.step_details).toEqual({
      type: "message_creation",
      message_creation: { message_id: reply?.id },
    });
    const again = await client.beta.threads.messages.retrieve(reply?.id as string, { thread_id: thread.id });
    expect(textOf(again)).toBe("echo: hello compat");
  });

  it("function calling: requires_action, then submitToolOutputsAndPoll completes with the outputs", async () => {
    const assistant = await client.beta.assistants.create({
      model: "gpt-sim",
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
      ],
    });
    const thread = await client.beta.threads.create({
      messages: [
        {
          role: "user",
          content: 'weather? #sim {"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}',
        },
      ],
    });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id });
    expect(run.status).toBe("requires_action");
    const calls = run.required_action?.submit_tool_outputs.tool_calls ?? [];
    expect(calls).toHaveLength(1);
    expect(calls[0]?.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });
    const done = await client.beta.threads.runs.submitToolOutputsAndPoll(run.id, {
      thread_id: thread.id,
      tool_outputs: [{ tool_call_id: calls[0]?.id as string, output: "sunny, 21 C" }],
    });
    expect(done.status).toBe("completed");
    const [reply] = (await client.beta.threads.messages.list(thread.id)).data;
    expect(textOf(reply as OpenAI.Beta.Threads.Message)).toBe('tool results: ["sunny, 21 C"]');
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: "asc" });
    expect(steps.data.map((s) => s.type)).toEqual(["tool_calls", "message_creation"]);
    const toolStep = steps.data[0]?.step_details as OpenAI.Beta.Threads.Runs.ToolCallsStepDetails;
    expect(toolStep.tool_calls[0]).toMatchObject({
      type: "function",
      function: { name: "get_weather", output: "sunny, 21 C" },
    });
  });

  it("runs.stream emits text deltas that join to the final text and ends with a completed run", async () => {
    const thread = await client.beta.threads.create();
    await client.beta.threads.messages.create(thread.id, {
      role: "user",
      content: 'stream me #sim {"chunks": 6, "delay_ms": 150000}',
    });
    // 1.5 s of model time (time scale 0.01): the stream finds the response (reads 0.1, 0.3, 0.7 s in)
    // and relays the answer while it is being written, even on a busy machine.
    const deltas: string[] = [];
    const events: string[] = [];
    const stream = client.beta.threads.runs
      .stream(thread.id, { assistant_id: assistantId })
      .on("textDelta", (d) => deltas.push(d.value ?? ""))
      .on("event", (e) => events.push(e.event));
    const run = await stream.finalRun();
    expect(run.status).toBe("completed");
    const [message] = await stream.finalMessages();
    expect(textOf(message as OpenAI.Beta.Threads.Message)).toBe("echo: stream me");
    expect(deltas.join("")).toBe("echo: stream me");
    expect(deltas.length).toBeGreaterThan(1); // relayed as the model wrote it, not in one piece
    expect(events[0]).toBe("thread.run.created");
    expect(events.filter((e) => e === "thread.run.completed")).toHaveLength(1);
    expect(events.indexOf("thread.message.created")).toBeLessThan(events.indexOf("thread.message.delta"));
  });

  it("createAndRunPoll makes a thread and runs it", async () => {
    const run = await client.beta.threads.createAndRunPoll({
      assistant_id: assistantId,
      thread: { messages: [{ role: "user", content: "all at once" }] },
    });
    expect(run.status).toBe("completed");
    const [reply] = (await client.beta.threads.messages.list(run.thread_id)).data;
    expect(textOf(reply as OpenAI.Beta.Threads.Message)).toBe("echo: all at once");
  });

  it("refuses a message or a second run while a run is active, with the original 400", async () => {
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: `busy ${SLOW}` }],
    });
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId });
    const err = await client.beta.threads.messages
      .create(thread.id, { role: "user", content: "too soon" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(
      `Can't add messages to ${thread.id} while a run ${run.id} is active.`,
    );
    const second = await client.beta.threads.runs
      .create(thread.id, { assistant_id: assistantId })
      .catch((e) => e);
    expect((second as Error).message).toContain(`Thread ${thread.id} already has an active run ${run.id}.`);
    await client.beta.threads.runs.poll(run.id, { thread_id: thread.id });
  });

  it("paginates 45 messages with limit 20, each once, in order, in both directions", async () => {
    const thread = await client.beta.threads.create();
    const ids: string[] = [];
    for (let i = 0; i < 45; i++)
      ids.push((await client.beta.threads.messages.create(thread.id, { role: "user", content: `m${i}` })).id);
    const collect = async (order: "asc" | "desc") => {
      const seen: string[] = [];
      for await (const m of client.beta.threads.messages.list(thread.id, { order, limit: 20 }))
        seen.push(m.id);
      return seen;
    };
    expect(await collect("asc")).toEqual(ids);
    expect(await collect("desc")).toEqual([...ids].reverse());
    const first = await client.beta.threads.messages.list(thread.id, { order: "asc", limit: 20 });
    expect(first.data).toHaveLength(20);
    expect(first.has_more).toBe(true);
    const before = await client.beta.threads.messages.list(thread.id, {
      order: "asc",
      limit: 20,
      before: ids[30],
    });
    expect(before.data.map((m) => m.id)).toEqual(ids.slice(10, 30));
  });

  it("cancels an in-progress run; its steps and the thread's runs list show it", async () => {
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: `long ${SLOW}` }],
    });
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId });
    await e2e.waitForRun(run.id, ["in_progress"]);
    const cancelling = await client.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    expect(["cancelling", "cancelled"]).toContain(cancelling.status);
    const final = await client.beta.threads.runs.poll(run.id, { thread_id: thread.id });
    expect(final.status).toBe("cancelled");
    const runs = await client.beta.threads.runs.list(thread.id);
    expect(runs.data.map((r) => [r.id, r.status])).toEqual([[run.id, "cancelled"]]);
    const steps = await client.beta.threads.runs.steps.list(run.id, { thread_id: thread.id });
    expect(steps.data).toEqual([]);
  });

  it("modifies and deletes threads, messages and run metadata", async () => {
    const thread = await client.beta.threads.create({ messages: [{ role: "user", content: "keep me" }] });
    const updated = await client.beta.threads.update(thread.id, { metadata: { topic: "billing" } });
    expect(updated.metadata).toEqual({ topic: "billing" });
    const [msg] = (await client.beta.threads.messages.list(thread.id)).data;
    const tagged = await client.beta.threads.messages.update(msg?.id as string, {
      thread_id: thread.id,
      metadata: { seen: "yes" },
    });
    expect(tagged.metadata).toEqual({ seen: "yes" });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
    const retagged = await client.beta.threads.runs.update(run.id, {
      thread_id: thread.id,
      metadata: { k: "v" },
    });
    expect(retagged.metadata).toEqual({ k: "v" });
    expect((await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).metadata).toEqual({
      k: "v",
    });
    const del = await client.beta.threads.messages.delete(msg?.id as string, { thread_id: thread.id });
    expect(del).toEqual({ id: msg?.id, object: "thread.message.deleted", deleted: true });
    expect((await client.beta.threads.messages.list(thread.id)).data.map((m) => m.role)).toEqual([
      "assistant",
    ]);
    expect(await client.beta.threads.delete(thread.id)).toEqual({
      id: thread.id,
      object: "thread.deleted",
      deleted: true,
    });
    await expect(client.beta.threads.retrieve(thread.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("sends the signed callback events of a run created with callback_url (also as metadata.callback_url)", async () => {
    const path = hookPath("compat");
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: "call me back" }],
    });
    const run = await client.beta.threads.runs.create(thread.id, {
      assistant_id: assistantId,
      metadata: { callback_url: `${e2e.inbox.url}${path}` },
    });
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect(d?.verified).toBe(true);
    expect((d?.body as any).type).toBe("run.completed");
    expect((d?.body as any).data.run).toMatchObject({ id: run.id, output: { text: "echo: call me back" } });
  });

  it("answers the SDK's pollers with openai-poll-after-ms and accepts the OpenAI-Beta header", async () => {
    const thread = await client.beta.threads.create({ messages: [{ role: "user", content: "headers" }] });
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistantId });
    const res = await fetch(`${e2e.worker}/v1/threads/${thread.id}/runs/${run.id}`, {
      headers: { authorization: `Bearer ${e2e.stack.ready.apiKey}`, "openai-beta": "assistants=v2" },
    });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get("openai-poll-after-ms"))).toBeGreaterThan(0);
    await client.beta.threads.runs.poll(run.id, { thread_id: thread.id });
  });

  it("streams through a tool round: requires_action ends the first stream, submitToolOutputsStream finishes", async () => {
    const assistant = await client.beta.assistants.create({
      model: "gpt-sim",
      tools: [{ type: "function", function: { name: "lookup" } }],
    });
    const thread = await client.beta.threads.create({
      messages: [
        { role: "user", content: 'find it #sim {"tool_calls":[{"name":"lookup","arguments":{"q":"x"}}]}' },
      ],
    });
    const created: string[] = [];
    const first = client.beta.threads.runs
      .stream(thread.id, { assistant_id: assistant.id })
      .on("toolCallCreated", (call) =>
        created.push(call.type === "function" ? call.function.name : call.type),
      );
    const waiting = await first.finalRun();
    expect(waiting.status).toBe("requires_action");
    expect(created).toEqual(["lookup"]);
    const call = waiting.required_action?.submit_tool_outputs.tool_calls[0];
    const deltas: string[] = [];
    const second = client.beta.threads.runs
      .submitToolOutputsStream(waiting.id, {
        thread_id: thread.id,
        tool_outputs: [{ tool_call_id: call?.id as string, output: "found" }],
      })
      .on("textDelta", (d) => deltas.push(d.value ?? ""));
    const done = await second.finalRun();
    expect(done.status).toBe("completed");
    expect(deltas.join("")).toBe('tool results: ["found"]');
  });

  it("createAndRunStream announces the new thread first", async () => {
    const events: string[] = [];
    const stream = client.beta.threads
      .createAndRunStream({
        assistant_id: assistantId,
        thread: { messages: [{ role: "user", content: "fresh" }] },
      })
      .on("event", (e) => events.push(e.event));
    const run = await stream.finalRun();
    expect(run.status).toBe("completed");
    expect(events.slice(0, 2)).toEqual(["thread.created", "thread.run.created"]);
    const [message] = await stream.finalMessages();
    expect(textOf(message as OpenAI.Beta.Threads.Message)).toBe("echo: fresh");
  });

  it("a deleted message leaves the model's context too (its conversation item is deleted)", async () => {
    const thread = await client.beta.threads.create({
      messages: [{ role: "user", content: "alpha secret" }],
    });
    const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
    const sim = new OpenAI({
      baseURL: e2e.stack.ready.openai.baseURL,
      apiKey: e2e.stack.ready.openai.apiKey,
    });
    const simBase = e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "");
    const responses = ((await (await fetch(`${simBase}/__sim/responses`)).json()) as { data: any[] }).data;
    const conversation = responses.find((r) => r.metadata?.threadhook_run === run.id)
      ?.conversation_id as string;
    const texts = async () => {
      const items = await sim.conversations.items.list(conversation, { order: "asc" });
      return items.data.map((i: any) => (i.content ?? []).map((c: any) => c.text).join(""));
    };
    expect(await texts()).toEqual(["alpha secret", "echo: alpha secret"]);
    const [reply, question] = (await client.beta.threads.messages.list(thread.id)).data;
    await client.beta.threads.messages.delete(question?.id as string, { thread_id: thread.id });
    expect(await texts()).toEqual(["echo: alpha secret"]);
    await client.beta.threads.messages.delete(reply?.id as string, { thread_id: thread.id });
    expect(await texts()).toEqual([]);
    expect((await client.beta.threads.messages.list(thread.id)).data).toEqual([]);
  });

  it("one thread, both APIs: a webhook message takes the messages held on the thread as input too", async () => {
    const thread = await client.beta.threads.create({ messages: [{ role: "user", content: "first, held" }] });
    const path = hookPath("both");
    const res = await e2e.api("POST", "/v1/messages", {
      assistant_id: assistantId,
      thread_id: thread.id,
      input: "second, sent",
      callback_url: `${e2e.inbox.url}${path}`,
    });
    expect(res.status).toBe(202);
    const [d] = await e2e.inbox.waitFor(1, { path, timeoutMs: 15_000 });
    expect((d?.body as any).data.run.output.text).toBe("echo: second, sent");
    const simBase = e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "");
    const responses = ((await (await fetch(`${simBase}/__sim/responses`)).json()) as { data: any[] }).data;
    const responseId = responses.find((r) => r.metadata?.threadhook_run === res.body.id)?.id as string;
    const sim = new OpenAI({
      baseURL: e2e.stack.ready.openai.baseURL,
      apiKey: e2e.stack.ready.openai.apiKey,
    });
    const input = await sim.responses.inputItems.list(responseId, { order: "asc" });
    expect(input.data.map((i: any) => i.content?.[0]?.text)).toEqual(["first, held", "second, sent"]);
    const messages = await client.beta.threads.messages.list(thread.id, { order: "asc" });
    expect(messages.data.map(textOf)).toEqual(["first, held", "second, sent", "echo: second, sent"]);
    const step = (await client.beta.threads.runs.steps.list(res.body.id, { thread_id: thread.id })).data[0];
    const same = await client.beta.threads.runs.steps.retrieve(step?.id as string, {
      thread_id: thread.id,
      run_id: res.body.id,
    });
    expect(same).toEqual(step);
  });
});
