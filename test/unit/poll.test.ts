import { describe, expect, it } from "vitest";
import { createRunRecord } from "../../src/engine/new-run";
import { transition } from "../../src/engine/run";
import type { ObservedResponse } from "../../src/engine/upstream-types";
import { nextPollInMs, pollIntervalMs } from "../../src/steps/poll";

const T0 = 1_700_000_000_000;
const S = 1_000;

const response = (status: ObservedResponse["status"]): ObservedResponse => ({
  id: "resp_1",
  tool_calls: [],
  message_id: null,
  status,
  content: [],
  usage: null,
  error: null,
  incomplete_reason: null,
});

/** A run whose response was created at T0, with a 600 s timeout. */
const running = () =>
  transition(
    createRunRecord({
      id: "run_1",
      tenant: "t1",
      threadId: "thread_1",
      conversationKey: null,
      assistant: {
        id: "asst_1",
        model: "m",
        instructions: null,
        temperature: null,
        top_p: null,
        tools: [],
        response_format: "auto",
      },
      limits: { maxToolRounds: 2, requiresActionTimeoutS: 600 },
      overrides: {},
      input: "hi",
      callback: null,
      timeoutS: 600,
      now: T0,
    }),
    { type: "response_created", response: response("queued") },
    T0,
  );

describe("polling schedules", () => {
  it("webhook strategy: safety-net polls wait as long as the response is old, 20 s to 2 min", () => {
    const run = running();
    expect(nextPollInMs("webhook", run, T0)).toBe(20 * S);
    expect(nextPollInMs("webhook", run, T0 + 20 * S)).toBe(20 * S);
    expect(nextPollInMs("webhook", run, T0 + 40 * S)).toBe(40 * S);
    expect(nextPollInMs("webhook", run, T0 + 80 * S)).toBe(80 * S);
    expect(nextPollInMs("webhook", run, T0 + 160 * S)).toBe(120 * S);
  });

  it("never waits past the run's deadline, and stops once the response ended", () => {
    const run = running();
    expect(nextPollInMs("webhook", run, T0 + 590 * S)).toBe(10 * S);
    expect(nextPollInMs("poll", run, T0 + 5 * S)).toBe(2 * S);
    const done = transition(run, { type: "response_observed", response: response("completed") }, T0 + S);
    expect(nextPollInMs("webhook", done, T0 + S)).toBeNull();
    expect(nextPollInMs("poll", done, T0 + S)).toBeNull();
  });

  it("budget-poll: the interval is a tenth of the response's age, 100 ms to 2 s", () => {
    expect(pollIntervalMs(0)).toBe(100);
    expect(pollIntervalMs(5 * S)).toBe(500);
    expect(pollIntervalMs(60 * S)).toBe(2 * S);
  });
});
