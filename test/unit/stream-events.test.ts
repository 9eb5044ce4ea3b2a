/** Assistants stream events derived from run records: order, no repeats, the SDK's rules. */
import { describe, expect, it } from "vitest";
import { outputMessage } from "../../src/engine/messages";
import { createRunRecord } from "../../src/engine/new-run";
import { transition } from "../../src/engine/run";
import { alreadyEmitted, newEvents } from "../../src/engine/stream-events";
import type { RunRecord } from "../../src/engine/types";
import type { ObservedResponse } from "../../src/engine/upstream-types";

const T0 = 1_700_000_000_000;
const run0 = (): RunRecord =>
  createRunRecord({
    id: "run_s",
    tenant: "t",
    threadId: "thread_s",
    conversationKey: null,
    assistant: {
      id: "asst_s",
      model: "m",
      instructions: null,
      temperature: null,
      top_p: null,
      tools: [{ type: "function", function: { name: "lookup" } }],
      response_format: "auto",
    },
    overrides: {},
    limits: { maxToolRounds: 5, requiresActionTimeoutS: 600 },
    input: "hi",
    callback: null,
    timeoutS: 600,
    now: T0,
  });
const resp = (
  id: string,
  status: ObservedResponse["status"],
  extra: Partial<ObservedResponse> = {},
): ObservedResponse => ({
  id,
  status,
  tool_calls: [],
  message_id: null,
  content: [],
  usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
  error: null,
  incomplete_reason: null,
  ...extra,
});
const answer = (id: string, text: string) =>
  resp(id, "completed", {
    message_id: `msg_${id}`,
    content: [{ type: "text", text: { value: text, annotations: [] } }],
  });

function started(): RunRecord {
  let run = transition(run0(), { type: "conversation_ready", conversation_id: "conv" }, T0 + 1);
  run = transition(run, { type: "response_created", response: resp("r1", "queued") }, T0 + 2);
  return transition(run, { type: "response_observed", response: resp("r1", "in_progress") }, T0 + 3);
}

const names = (events: { event: string }[]) => events.map((e) => e.event);

describe("stream events", () => {
  it("emits status, step and message events in order, and nothing twice", () => {
    const emitted = new Set<string>();
    expect(names(newEvents(run0(), emitted, new Set()))).toEqual(["thread.run.queued"]);
    const running = started();
    expect(names(newEvents(running, emitted, new Set()))).toEqual(["thread.run.in_progress"]);
    const done = transition(running, { type: "response_observed", response: answer("r1", "hello") }, T0 + 9);
    const events = newEvents(done, emitted, new Set());
    expect(names(events)).toEqual([
      "thread.run.step.created",
      "thread.run.step.in_progress",
      "thread.message.created",
      "thread.message.in_progress",
      "thread.message.delta",
      "thread.message.completed",
      "thread.run.step.completed",
      "thread.run.completed",
    ]);
    expect((events[4]?.data as any).delta.content[0].text.value).toBe("hello");
    expect((events[5]?.data as any).id).toBe(outputMessage(done)?.id);
    // The step opens without usage and ends with the response's.
    expect((events[0]?.data as any).usage).toBeNull();
    expect((events[6]?.data as any).usage).toEqual({
      prompt_tokens: 3,
      completion_tokens: 2,
      total_tokens: 5,
    });
    expect(newEvents(done, emitted, new Set())).toEqual([]);
  });

  it("leaves out a message that was relayed live", () => {
    const done = transition(started(), { type: "response_observed", response: answer("r1", "hey") }, T0 + 9);
    const events = newEvents(done, new Set(), new Set(["msg_r1"]));
    expect(names(events).filter((n) => n.startsWith("thread.message"))).toEqual([]);
    expect(names(events)).toContain("thread.run.step.completed");
  });

  it("ends a tool round at requires_action, with the calls as step deltas; a later stream picks up from there", () => {
    const args = '{"query":"a question long enough for two fragments"}';
    const calls = [{ call_id: "call_1", name: "lookup", arguments: args }];
    const waiting = transition(
      started(),
      { type: "response_observed", response: resp("r1", "completed", { tool_calls: calls }) },
      T0 + 5,
    );
    const first = newEvents(waiting, new Set(), new Set());
    expect(names(first)).toEqual([
      "thread.run.queued",
      "thread.run.in_progress",
      "thread.run.step.created",
      "thread.run.step.in_progress",
      "thread.run.step.delta",
      "thread.run.step.delta",
      "thread.run.step.delta",
      "thread.run.step.delta",
      "thread.run.requires_action",
    ]);
    const callDeltas = first.slice(4, 8).map((e) => (e.data as any).delta.step_details.tool_calls[0]);
    // The call opens with empty arguments (as the original's did); fragments follow.
    expect(callDeltas[0]).toMatchObject({
      index: 0,
      id: "call_1",
      function: { name: "lookup", arguments: "" },
    });
    expect(callDeltas.slice(1).every((d) => d.index === 0 && d.id === undefined)).toBe(true);
    expect(callDeltas.map((d) => d.function.arguments).join("")).toBe(args);
    const submitted = transition(
      waiting,
      { type: "tool_outputs_submitted", outputs: [{ tool_call_id: "call_1", output: "42" }] },
      T0 + 6,
    );
    const emitted = alreadyEmitted(submitted);
    let next = transition(
      submitted,
      { type: "response_created", response: resp("r2", "in_progress") },
      T0 + 7,
    );
    next = transition(next, { type: "response_observed", response: answer("r2", "done") }, T0 + 8);
    const second = names(newEvents(next, emitted, new Set()));
    // The answered tool step ends first, the run is queued again, then the answer as in any run.
    expect(second).toEqual([
      "thread.run.step.completed",
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
    ]);
  });
});
