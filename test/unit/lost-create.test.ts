/**
 * engine/lost-create.ts: recognising a lost create's ended response in its conversation's items,
 * and the function calls an earlier run left open there.
 */
import { describe, expect, it } from "vitest";
import {
  callsLeftOpen,
  estimatedUsage,
  estimateTokens,
  looksBeforeCreate,
  lostResponseFromItems,
  type SeenItem,
} from "../../src/engine/lost-create";
import { transition, unseenResponses } from "../../src/engine/run";
import { newRun, resp, T0 } from "./step-fakes";

const user = (id: string, text: string): SeenItem => ({
  id,
  type: "message",
  role: "user",
  text,
  other_parts: 0,
});
const answer = (id: string, text: string): SeenItem => ({
  id,
  type: "message",
  role: "assistant",
  text,
  other_parts: 0,
});
const call = (id: string, call_id: string): SeenItem => ({
  id,
  type: "function_call",
  call_id,
  name: "weather",
  arguments: "{}",
});
const output = (id: string, call_id: string): SeenItem => ({ id, type: "function_call_output", call_id });

describe("a lost create's response, from the conversation", () => {
  const earlier = [answer("m2", "echo: hi"), user("m1", "hi")]; // newest first

  it("is the answer that follows the round's input", () => {
    const found = lostResponseFromItems(
      [answer("m4", "echo: again"), user("m3", "again"), ...earlier],
      "again",
      "0.0",
    );
    expect(found).toMatchObject({
      status: "completed",
      message_id: "m4",
      content: [{ type: "text", text: { value: "echo: again" } }],
      tool_calls: [],
      // Estimated: the page's items before the answer ("again" 2 + "echo: hi" 2 + "hi" 1), the answer 3.
      usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8 },
      usage_estimated: true,
      create_key: "0.0",
    });
  });

  it("carries the function calls a lost tool round asked for", () => {
    const items = [call("fc2", "c2"), output("o1", "c1"), call("fc1", "c1"), ...earlier];
    const found = lostResponseFromItems(
      items,
      [{ type: "function_call_output", call_id: "c1", output: "x" }],
      "1.1",
    );
    expect(found?.tool_calls).toEqual([{ call_id: "c2", name: "weather", arguments: "{}" }]);
  });

  it("is none when the round's input never joined the conversation (the response did not end)", () => {
    expect(lostResponseFromItems(earlier, "again", "0.0")).toBeNull();
    expect(lostResponseFromItems([user("m3", "again"), ...earlier], "again", "0.0")).toBeNull();
    const tool = [{ type: "function_call_output" as const, call_id: "c9", output: "x" }];
    expect(lostResponseFromItems([call("fc1", "c1"), ...earlier], tool, "1.1")).toBeNull();
    expect(lostResponseFromItems([], "again", "0.0")).toBeNull();
  });

  it("matches every message of the round's input, in order", () => {
    const input = [
      { role: "user" as const, content: "one" },
      { role: "user" as const, content: "two" },
    ];
    const items = [answer("m5", "echo"), user("m4", "two"), user("m3", "one"), ...earlier];
    expect(lostResponseFromItems(items, input, "0.0")?.message_id).toBe("m5");
    const swapped = [answer("m5", "echo"), user("m4", "one"), user("m3", "two"), ...earlier];
    expect(lostResponseFromItems(swapped, input, "0.0")).toBeNull();
  });
});

describe("function calls left open in the conversation", () => {
  it("are the calls with no output after them, oldest first", () => {
    const items = [
      call("fc3", "c3"),
      output("o1", "c1"),
      call("fc2", "c2"),
      call("fc1", "c1"),
      user("m1", "hi"),
    ];
    expect(callsLeftOpen(items, "next question")).toEqual(["c2", "c3"]);
    expect(callsLeftOpen([answer("m2", "done"), output("o1", "c1"), call("fc1", "c1")], "x")).toEqual([]);
    expect(callsLeftOpen([], "x")).toEqual([]);
  });

  it("leave out the calls the round's own input answers (a tool round's outputs)", () => {
    const items = [call("fc2", "c2"), call("fc1", "c1"), user("m1", "hi")];
    const outputs = [{ type: "function_call_output" as const, call_id: "c1", output: "42" }];
    expect(callsLeftOpen(items, outputs)).toEqual(["c2"]);
  });
});

describe("when a create reads the conversation first", () => {
  const onConversation = (made: boolean) =>
    transition(newRun(), { type: "conversation_ready", conversation_id: "conv_1", made }, T0);

  it("every attempt of a run's first round on a conversation it did not make", () => {
    expect(looksBeforeCreate(newRun())).toBeNull(); // no conversation yet
    const run = onConversation(false);
    expect(looksBeforeCreate(run)).toBe("first");
    const started = transition(run, { type: "create_started", key: "0.0" }, T0);
    expect(looksBeforeCreate(started)).toBe("retry");
  });

  it("not on a conversation the run made, nor in a later round, unless an answer was lost", () => {
    const made = onConversation(true);
    expect(looksBeforeCreate(made)).toBeNull();
    expect(looksBeforeCreate(transition(made, { type: "create_started", key: "0.0" }, T0))).toBe("retry");
    const answered = transition(made, { type: "response_created", response: resp("queued") }, T0);
    expect(looksBeforeCreate(answered)).toBeNull();
  });
});

describe("an adopted response's estimated usage", () => {
  it("counts ⌈characters / 4⌉ per text: instructions and the items before the output in, the output out", () => {
    expect([0, 1, 4, 5, 8].map((n) => estimateTokens("x".repeat(n)))).toEqual([0, 1, 1, 2, 2]);
    const consumed: SeenItem[] = [
      user("m1", "hello there"), // 11 → 3
      call("fc1", "c1"), // "weather{}" 9 → 3
      { id: "o1", type: "function_call_output", call_id: "c1", output: '{"t":21}' }, // 8 → 2
    ];
    const produced = [answer("m2", "it is warm: 21 degrees")]; // 22 → 6
    expect(estimatedUsage("Be brief.", consumed, produced)).toEqual({
      input_tokens: 3 + 3 + 3 + 2, // "Be brief." 9 → 3
      output_tokens: 6,
      total_tokens: 17,
    });
    expect(estimatedUsage(null, [], []).total_tokens).toBe(0);
  });

  it("is what the round's adoption adds; a stray with the real usage then takes its place, once", () => {
    const items = [answer("m2", "echo: hello"), user("m1", "hello")];
    const lost = lostResponseFromItems(items, "hello", "0.0", "Be brief.");
    expect(lost?.usage).toEqual({ input_tokens: 5, output_tokens: 3, total_tokens: 8 });
    const run = transition(
      newRun(),
      { type: "response_created", response: lost as NonNullable<typeof lost> },
      T0,
    );
    expect(run.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(run.upstream.estimated).toEqual([{ key: "0.0", input_tokens: 5, output_tokens: 3 }]);
    const real = resp("completed", {
      id: "resp_real",
      create_key: "0.0",
      usage: { input_tokens: 9, output_tokens: 4, total_tokens: 13 },
    });
    const replaced = transition(run, { type: "stray_response", response: real }, T0);
    expect(replaced.usage).toEqual({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
    expect(replaced.upstream.estimated).toEqual([]);
    expect(transition(replaced, { type: "stray_response", response: real }, T0).usage).toEqual(
      replaced.usage,
    );
  });

  it("adds nothing when the round's real response was counted first (its webhook came before the look)", () => {
    const real = resp("completed", {
      id: "resp_real",
      create_key: "0.0",
      usage: { input_tokens: 9, output_tokens: 4, total_tokens: 13 },
    });
    const counted = transition(newRun(), { type: "stray_response", response: real }, T0);
    const lost = lostResponseFromItems([answer("m2", "echo: hello"), user("m1", "hello")], "hello", "0.0");
    const adopted = transition(
      counted,
      { type: "response_created", response: lost as NonNullable<typeof lost> },
      T0,
    );
    expect(adopted.usage).toEqual(counted.usage);
    expect(adopted.upstream.estimated ?? []).toEqual([]);
  });
});

describe("responses whose usage is unknown", () => {
  it("a call QStash got no answer for is one, until its webhook brings the response (a stray)", () => {
    const error = { code: "upstream_outcome_unknown", message: "no answer" };
    const lost = transition(newRun(), { type: "call_lost", error }, T0);
    expect(lost.status).toBe("failed");
    expect(unseenResponses(lost)).toBe(1);
    const usage = { input_tokens: 9, output_tokens: 4, total_tokens: 13 };
    const late = resp("completed", { id: "resp_late", create_key: "0.0", usage });
    const seen = transition(lost, { type: "stray_response", response: late }, T0);
    expect(unseenResponses(seen)).toBe(0);
    expect(seen.usage).toEqual({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
  });

  it("a create whose outcome was still unknown when the run ended is one; a running run has none", () => {
    const creating = transition(newRun(), { type: "create_started", key: "0.0" }, T0);
    expect(unseenResponses(creating)).toBe(0);
    const cancelled = transition({ ...creating, cancel_requested: true }, { type: "tick" }, T0);
    expect(cancelled.status).toBe("cancelled");
    expect(unseenResponses(cancelled)).toBe(1);
  });
});
