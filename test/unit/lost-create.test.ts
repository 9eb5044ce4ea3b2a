/**
 * engine/lost-create.ts: recognising a lost create's ended response in its conversation's items,
 * and the function calls an earlier run left open there.
 */
import { describe, expect, it } from "vitest";
import {
  callsLeftOpen,
  looksBeforeCreate,
  lostResponseFromItems,
  type SeenItem,
} from "../../src/engine/lost-create";
import { transition } from "../../src/engine/run";
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
      usage: null,
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
