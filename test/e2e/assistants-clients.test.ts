/**
 * Issue 16: Assistants client code nobody on this team wrote, against the whole local stack. The
 * same flows run through three releases of the official `openai` SDK, each in its own calling
 * style: 4.x (the last one; positional `runs.retrieve(threadId, runId)`, the release most
 * Assistants code was written against), 6.x and the project's own (named `{thread_id}` params).
 * Every numbered edge of the issue has a test here, run through each client.
 */
import OpenAI from "openai";
import OpenAI4 from "openai-v4";
import OpenAI6 from "openai-v6";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2E, startE2E } from "../support/e2e";
import { checkedSdkFetch } from "../support/openapi-check";

let e2e: E2E;

beforeAll(async () => {
  // The stream strategy, whose responses the Assistants stream relays live (item 4 checks the deltas).
  e2e = await startE2E({ workerVars: { ALLOWED_MODELS: "gpt-sim,gpt-sim-mini", DRIVE_STRATEGY: "stream" } });
});
afterAll(async () => e2e?.close());

type Outputs = { tool_call_id: string; output: string }[];

/** What differs between the SDK releases: where the thread and run ids go. */
interface Client {
  sdk: any;
  retrieveRun(threadId: string, runId: string): Promise<any>;
  pollRun(threadId: string, runId: string): Promise<any>;
  listSteps(threadId: string, runId: string): Promise<any[]>;
  submitAndPoll(threadId: string, runId: string, outputs: Outputs): Promise<any>;
  submitStream(threadId: string, runId: string, outputs: Outputs): any;
}

const named = (sdk: any): Client => ({
  sdk,
  retrieveRun: (thread_id, runId) => sdk.beta.threads.runs.retrieve(runId, { thread_id }),
  pollRun: (thread_id, runId) => sdk.beta.threads.runs.poll(runId, { thread_id }),
  listSteps: async (thread_id, runId) =>
    (await sdk.beta.threads.runs.steps.list(runId, { thread_id, order: "asc" })).data,
  submitAndPoll: (thread_id, runId, tool_outputs) =>
    sdk.beta.threads.runs.submitToolOutputsAndPoll(runId, { thread_id, tool_outputs }),
  submitStream: (thread_id, runId, tool_outputs) =>
    sdk.beta.threads.runs.submitToolOutputsStream(runId, { thread_id, tool_outputs }),
});

const positional = (sdk: any): Client => ({
  sdk,
  retrieveRun: (threadId, runId) => sdk.beta.threads.runs.retrieve(threadId, runId),
  pollRun: (threadId, runId) => sdk.beta.threads.runs.poll(threadId, runId),
  listSteps: async (threadId, runId) =>
    (await sdk.beta.threads.runs.steps.list(threadId, runId, { order: "asc" })).data,
  submitAndPoll: (threadId, runId, tool_outputs) =>
    sdk.beta.threads.runs.submitToolOutputsAndPoll(threadId, runId, { tool_outputs }),
  submitStream: (threadId, runId, tool_outputs) =>
    sdk.beta.threads.runs.submitToolOutputsStream(threadId, runId, { tool_outputs }),
});

const options = () => ({
  baseURL: `${e2e.worker}/v1`,
  apiKey: e2e.stack.ready.apiKey as string,
  maxRetries: 0,
  fetch: checkedSdkFetch,
});
const CLIENTS: [string, () => Client][] = [
  ["openai 4.x", () => positional(new OpenAI4(options()))],
  ["openai 6.x", () => named(new OpenAI6(options()))],
  ["openai (project)", () => named(new OpenAI(options()))],
];

const textOf = (m: any): string =>
  m.content.map((c: any) => (c.type === "text" ? c.text.value : "")).join("");
/** Event names with runs of the same name collapsed (deltas come in any number). */
const collapsed = (events: string[]) => events.filter((e, i) => e !== events[i - 1]);
const LOOKUP = { type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } };

/** The order of a plain text run in OpenAI's published streaming example. */
const REFERENCE_ORDER = [
  "thread.run.created",
  "thread.run.queued",
  "thread.run.in_progress",
  "thread.run.step.created",
  "thread.run.step.in_progress",
  "thread.message.created",
  "thread.message.in_progress",
  "thread.message.delta",
  "thread.message.completed",
  "thread.run.step.completed",
  "thread.run.completed",
];

let unique = 300;

describe.each(CLIENTS)("%s", (_name, make) => {
  let client: Client;
  let sdk: any;
  let assistantId: string;
  let toolAssistantId: string;
  beforeAll(async () => {
    client = make();
    sdk = client.sdk;
    assistantId = (await sdk.beta.assistants.create({ model: "gpt-sim", instructions: "Be brief." })).id;
    toolAssistantId = (await sdk.beta.assistants.create({ model: "gpt-sim", tools: [LOOKUP] })).id;
  });

  describe("1. runs without new messages", () => {
    it("createAndRunPoll with no thread: the assistant speaks first on a new, empty thread", async () => {
      const run = await sdk.beta.threads.createAndRunPoll({ assistant_id: assistantId });
      expect(run.status).toBe("completed");
      const messages = (await sdk.beta.threads.messages.list(run.thread_id)).data;
      expect(messages.map((m: any) => [m.role, m.run_id])).toEqual([["assistant", run.id]]);
      expect(textOf(messages[0])).not.toBe("");
    });

    it("a failed run is retried with createAndPoll on the same thread, nothing added", async () => {
      const thread = await sdk.beta.threads.create({
        // http_error counts per script text: a delay of its own makes this script this test's alone.
        messages: [
          {
            role: "user",
            content: `flaky #sim {"http_error":{"status":400,"times":1},"delay_ms":${++unique}}`,
          },
        ],
      });
      let run = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
      expect(run.status).toBe("failed");
      if (run.status === "failed")
        run = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
      expect(run.status).toBe("completed");
    });

    it("regenerate: a second run after a completed one answers again", async () => {
      const thread = await sdk.beta.threads.create({ messages: [{ role: "user", content: "tell me" }] });
      const first = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
      const second = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
      expect([first.status, second.status]).toEqual(["completed", "completed"]);
      const messages = (await sdk.beta.threads.messages.list(thread.id, { order: "asc" })).data;
      expect(messages.map((m: any) => [m.role, m.run_id])).toEqual([
        ["user", null],
        ["assistant", first.id],
        ["assistant", second.id],
      ]);
    });
  });

  it("2. a run cut short by max_completion_tokens says so in the Assistants vocabulary", async () => {
    const thread = await sdk.beta.threads.create({
      messages: [{ role: "user", content: 'long #sim {"incomplete":"max_output_tokens"}' }],
    });
    const run = await sdk.beta.threads.runs.createAndPoll(thread.id, {
      assistant_id: assistantId,
      max_completion_tokens: 256,
    });
    expect(run.status).toBe("incomplete");
    expect(run.incomplete_details).toEqual({ reason: "max_completion_tokens" });
    expect((await client.retrieveRun(thread.id, run.id)).incomplete_details).toEqual({
      reason: "max_completion_tokens",
    });
  });

  it("3. completed run steps carry usage; their sum is the run's", async () => {
    const thread = await sdk.beta.threads.create({
      messages: [
        { role: "user", content: 'find #sim {"tool_calls":[{"name":"lookup","arguments":{"q":"x"}}]}' },
      ],
    });
    const waiting = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: toolAssistantId });
    expect(waiting.status).toBe("requires_action");
    const open = await client.listSteps(thread.id, waiting.id);
    expect(open.map((s) => [s.status, s.usage])).toEqual([["in_progress", null]]);
    const call = waiting.required_action.submit_tool_outputs.tool_calls[0];
    const run = await client.submitAndPoll(thread.id, waiting.id, [{ tool_call_id: call.id, output: "ok" }]);
    expect(run.status).toBe("completed");
    const steps = await client.listSteps(thread.id, run.id);
    expect(steps.map((s) => s.status)).toEqual(["completed", "completed"]);
    const total = steps.reduce((sum, s) => sum + s.usage.total_tokens, 0);
    expect(total).toBe(run.usage.total_tokens);
    expect(steps.every((s) => s.usage.prompt_tokens > 0 && s.usage.completion_tokens > 0)).toBe(true);
  });

  it("4. a streamed run's events come in the reference order", async () => {
    const thread = await sdk.beta.threads.create({
      messages: [{ role: "user", content: 'in order #sim {"chunks": 6, "delay_ms": 150000}' }],
    });
    const events: string[] = [];
    const deltas: string[] = [];
    const stream = sdk.beta.threads.runs
      .stream(thread.id, { assistant_id: assistantId })
      .on("event", (e: any) => events.push(e.event))
      .on("textDelta", (d: any) => deltas.push(d.value ?? ""));
    const run = await stream.finalRun();
    expect(run.status).toBe("completed");
    expect(collapsed(events)).toEqual(REFERENCE_ORDER);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe("echo: in order");
  });

  it("4. the submit_tool_outputs stream: the tool step ends, the run is queued again, then the reference order", async () => {
    const thread = await sdk.beta.threads.create({
      messages: [
        {
          role: "user",
          content:
            'look #sim {"chunks": 6, "delay_ms": 50000, "tool_calls":[{"name":"lookup","arguments":{"q":"y"}}]}',
        },
      ],
    });
    const first: string[] = [];
    const waiting = await sdk.beta.threads.runs
      .stream(thread.id, { assistant_id: toolAssistantId })
      .on("event", (e: any) => first.push(e.event))
      .finalRun();
    expect(waiting.status).toBe("requires_action");
    expect(collapsed(first)).toEqual([
      "thread.run.created",
      "thread.run.queued",
      "thread.run.in_progress",
      "thread.run.step.created",
      "thread.run.step.in_progress",
      "thread.run.step.delta",
      "thread.run.requires_action",
    ]);
    const call = waiting.required_action.submit_tool_outputs.tool_calls[0];
    const events: string[] = [];
    const done = await client
      .submitStream(thread.id, waiting.id, [{ tool_call_id: call.id, output: "found" }])
      .on("event", (e: any) => events.push(e.event))
      .finalRun();
    expect(done.status).toBe("completed");
    expect(collapsed(events)).toEqual([
      "thread.run.step.completed",
      "thread.run.queued",
      ...REFERENCE_ORDER.slice(2),
    ]);
  });

  it("5. tool-call arguments arrive as fragments after an empty start, as toolCallDelta accumulates them", async () => {
    const args = { city: "Paris", units: "metric", details: ["wind", "rain", "humidity"] };
    const thread = await sdk.beta.threads.create({
      messages: [
        {
          role: "user",
          content: `weather #sim {"tool_calls":[{"name":"lookup","arguments":${JSON.stringify(args)}}]}`,
        },
      ],
    });
    let created: any = null;
    let accumulated = "";
    const stream = sdk.beta.threads.runs
      .stream(thread.id, { assistant_id: toolAssistantId })
      .on("toolCallCreated", (call: any) => {
        created = structuredClone(call);
      })
      .on("toolCallDelta", (delta: any) => {
        accumulated += delta.function?.arguments ?? "";
      });
    const run = await stream.finalRun();
    expect(run.status).toBe("requires_action");
    expect(created).toMatchObject({ type: "function", function: { name: "lookup", arguments: "" } });
    expect(JSON.parse(accumulated)).toEqual(args);
    expect(run.required_action.submit_tool_outputs.tool_calls[0].function.arguments).toBe(accumulated);
  });

  describe("6. smaller edges", () => {
    it("the active-run 400 carries code and param null, as the original's did", async () => {
      const thread = await sdk.beta.threads.create({
        messages: [{ role: "user", content: 'busy #sim {"delay_ms": 100000}' }],
      });
      const run = await sdk.beta.threads.runs.create(thread.id, { assistant_id: assistantId });
      const message = await sdk.beta.threads.messages
        .create(thread.id, { role: "user", content: "too soon" })
        .catch((e: unknown) => e);
      const second = await sdk.beta.threads.runs
        .create(thread.id, { assistant_id: assistantId })
        .catch((e: unknown) => e);
      for (const err of [message, second]) {
        expect(err.status).toBe(400);
        expect([err.code, err.param, err.type]).toEqual([null, null, "invalid_request_error"]);
      }
      expect(second.message).toContain(`Thread ${thread.id} already has an active run ${run.id}.`);
      await client.pollRun(thread.id, run.id);
    });

    it("a user message without attachments shows attachments: []", async () => {
      const thread = await sdk.beta.threads.create({ messages: [{ role: "user", content: "plain" }] });
      const created = await sdk.beta.threads.messages.create(thread.id, {
        role: "user",
        content: "also plain",
      });
      expect(created.attachments).toEqual([]);
      const listed = (await sdk.beta.threads.messages.list(thread.id)).data;
      expect(listed.map((m: any) => m.attachments)).toEqual([[], []]);
    });

    it("models.list and models.retrieve serve the deployment's models", async () => {
      const ids: string[] = [];
      for await (const model of sdk.models.list()) ids.push(model.id);
      expect(ids).toEqual(["gpt-sim", "gpt-sim-mini"]);
      expect(await sdk.models.retrieve("gpt-sim-mini")).toMatchObject({
        id: "gpt-sim-mini",
        object: "model",
      });
      await expect(sdk.models.retrieve("gpt-unknown")).rejects.toMatchObject({ status: 404 });
      // A model the deployment does not serve is refused where it is named.
      await expect(sdk.beta.assistants.create({ model: "gpt-unknown" })).rejects.toMatchObject({
        status: 400,
        code: "model_not_allowed",
        param: "model",
      });
    });
  });
});

describe("1. runs without new messages, on an upstream that insists on an input", () => {
  it("the assistant still speaks first: threadhook sends a developer nudge instead", async () => {
    const sim = e2e.stack.ready.openai.baseURL.replace(/\/v1$/, "");
    const strict = (on: boolean) =>
      fetch(`${sim}/__sim/config`, { method: "POST", body: JSON.stringify({ require_input: on }) });
    await strict(true);
    try {
      const sdk = new OpenAI(options());
      const assistant = await sdk.beta.assistants.create({ model: "gpt-sim" });
      const thread = await sdk.beta.threads.create({ messages: [{ role: "user", content: "once" }] });
      const first = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id });
      const again = await sdk.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id });
      expect([first.status, again.status]).toEqual(["completed", "completed"]);
      const [reply] = (await sdk.beta.threads.messages.list(thread.id)).data;
      expect(textOf(reply)).toBe("echo: once");
    } finally {
      await strict(false);
    }
  });
});
