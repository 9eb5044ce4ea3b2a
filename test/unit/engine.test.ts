import { describe, expect, it } from "vitest";
import { createRunRecord } from "../../src/engine/new-run";
import { nextAction } from "../../src/engine/next";
import { buildEvent, presentRun, presentStep } from "../../src/engine/present";
import { deliveryRetryMs, transition, upstreamBackoffMs } from "../../src/engine/run";
import type { RunRecord } from "../../src/engine/types";
import { resp, T0 } from "../support/run-fixtures";

function newRun(over: Partial<Parameters<typeof createRunRecord>[0]> = {}): RunRecord {
  return createRunRecord({
    id: "run_abc",
    tenant: "t1",
    threadId: "thread_1",
    conversationKey: "slack:T1:C2",
    assistant: {
      id: "asst_1",
      model: "gpt-test",
      instructions: "Be brief.",
      temperature: 1,
      top_p: 1,
      tools: [
        {
          type: "function",
          function: { name: "get_weather" },
          endpoint: { url: "https://tools.example.com/w", headers: {}, timeout_ms: 1000 },
        },
        { type: "function", function: { name: "ask_user" } },
      ],
      response_format: "auto",
    },
    limits: { maxToolRounds: 2, requiresActionTimeoutS: 600 },
    overrides: { additional_instructions: "Answer in French." },
    input: "hello",
    callback: { url: "https://example.com/cb", headers: {} },
    timeoutS: 600,
    now: T0,
    ...over,
  });
}

/** A run that has a conversation and a live response. */
function started(): RunRecord {
  let run = transition(newRun(), { type: "conversation_ready", conversation_id: "conv_1" }, T0 + 1);
  run = transition(run, { type: "response_created", response: resp("queued") }, T0 + 2);
  return transition(run, { type: "response_observed", response: resp("in_progress") }, T0 + 3);
}

describe("run engine", () => {
  it("asks for a conversation, then a response with the assistant's settings and the run's overrides", () => {
    const fresh = newRun();
    expect(nextAction(fresh, T0)).toEqual({ type: "take_held" });
    const took = transition(fresh, { type: "held_taken", messages: [] }, T0);
    expect(took.input).toBe("hello");
    expect(nextAction(took, T0)).toEqual({ type: "check_quota" });
    const run = transition(took, { type: "quota_checked", exceeded_limit: null }, T0);
    expect(nextAction(run, T0)).toEqual({ type: "create_conversation" });
    const withConv = transition(run, { type: "conversation_ready", conversation_id: "conv_9" }, T0);
    const action = nextAction(withConv, T0);
    expect(action.type).toBe("create_response");
    if (action.type !== "create_response") throw new Error("unreachable");
    expect(action.request).toMatchObject({
      model: "gpt-test",
      input: "hello",
      conversation: "conv_9",
      instructions: "Be brief.\n\nAnswer in French.",
    });
  });

  it("checks the token quota once when the run starts: used up, the run fails quota_exceeded and lets go", () => {
    const over = transition(newRun(), { type: "quota_checked", exceeded_limit: 70 }, T0 + 5);
    expect(over.status).toBe("failed");
    expect(over.last_error).toEqual({
      code: "quota_exceeded",
      message: "The monthly quota of 70 tokens is used up; it renews on the 1st (UTC).",
    });
    expect(over.delivery).toMatchObject({ state: "pending", event_type: "run.failed" });
    // Nothing reached the model: its messages go back to the thread for the next run.
    expect(nextAction(over, T0 + 5)).toEqual({ type: "return_messages" });
    const returned = transition(over, { type: "messages_returned" }, T0 + 5);
    expect(nextAction(returned, T0 + 5)).toEqual({ type: "release_thread" });
    // Checked once: after the first round (or a retry of it) no check again.
    const ok = transition(newRun(), { type: "quota_checked", exceeded_limit: null }, T0);
    expect(ok.status).toBe("queued");
    expect(nextAction(started(), T0 + 4).type).toBe("observe");
  });

  it("completes with output and usage, then releases the thread and delivers run.completed", () => {
    const content = [{ type: "text" as const, text: { value: "echo: hello", annotations: [] } }];
    const usage = { input_tokens: 5, output_tokens: 3, total_tokens: 8 };
    const done = transition(
      started(),
      { type: "response_observed", response: resp("completed", { content, usage }) },
      T0 + 1500,
    );
    expect(done.status).toBe("completed");
    expect(done.output?.text).toBe("echo: hello");
    expect(done.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(done.timeline.map((t) => t.status)).toEqual(["queued", "in_progress", "completed"]);
    expect(nextAction(done, T0 + 1500)).toEqual({ type: "release_thread" });
    const released = transition(done, { type: "thread_released" }, T0 + 1501);
    expect(nextAction(released, T0 + 1501)).toEqual({ type: "deliver" });
    const event = buildEvent(released);
    expect(event).toMatchObject({
      id: "evt_abc",
      type: "run.completed",
      data: { run: { id: "run_abc", status: "completed" } },
    });
  });

  it("observing the same terminal response twice counts usage once", () => {
    const usage = { input_tokens: 5, output_tokens: 3, total_tokens: 8 };
    const once = transition(
      started(),
      { type: "response_observed", response: resp("completed", { usage }) },
      T0 + 10,
    );
    const twice = transition(
      once,
      { type: "response_observed", response: resp("completed", { usage }) },
      T0 + 11,
    );
    expect(twice.usage.total_tokens).toBe(8);
  });

  it("maps failed and incomplete responses", () => {
    const failed = transition(
      started(),
      {
        type: "response_observed",
        response: resp("failed", { error: { code: "server_error", message: "boom" } }),
      },
      T0 + 9,
    );
    expect(failed.status).toBe("failed");
    expect(failed.last_error).toEqual({ code: "server_error", message: "boom" });
    const inc = transition(
      started(),
      { type: "response_observed", response: resp("incomplete", { incomplete_reason: "max_output_tokens" }) },
      T0 + 9,
    );
    expect(inc.status).toBe("incomplete");
    expect(inc.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(buildEvent(inc).type).toBe("run.incomplete");
  });

  it("expires at the deadline and then cancels the live upstream response", () => {
    const run = started();
    const expired = transition(run, { type: "tick" }, run.deadline_ms);
    expect(expired.status).toBe("expired");
    expect(nextAction(expired, run.deadline_ms)).toEqual({ type: "cancel_response", response_id: "resp_1" });
    const sent = transition(expired, { type: "cancel_sent" }, run.deadline_ms + 1);
    // Its response never completed: its input is not in the conversation, and goes back to the thread.
    expect(nextAction(sent, run.deadline_ms + 1)).toEqual({ type: "return_messages" });
    const returned = transition(sent, { type: "messages_returned" }, run.deadline_ms + 1);
    expect(nextAction(returned, run.deadline_ms + 1)).toEqual({ type: "release_thread" });
  });

  it("cancels: a queued run at once, a running one through cancelling", () => {
    const queued = transition({ ...newRun(), cancel_requested: true }, { type: "tick" }, T0 + 5);
    expect(queued.status).toBe("cancelled");
    const running = transition({ ...started(), cancel_requested: true }, { type: "tick" }, T0 + 5);
    expect(running.status).toBe("cancelling");
    expect(nextAction(running, T0 + 5)).toEqual({ type: "cancel_response", response_id: "resp_1" });
    const sent = transition(running, { type: "cancel_sent" }, T0 + 6);
    expect(nextAction(sent, T0 + 6).type).toBe("observe");
    const cancelled = transition(sent, { type: "response_observed", response: resp("cancelled") }, T0 + 7);
    expect(cancelled.status).toBe("cancelled");
  });

  it("backs off after retryable upstream failures and fails on a permanent one", () => {
    const run = started();
    const err = { code: "rate_limit_exceeded", message: "slow down" };
    const r1 = transition(
      run,
      { type: "upstream_failed", retryable: true, error: err, retry_after_ms: 3000 },
      T0 + 10,
    );
    expect(r1.status).toBe("in_progress");
    expect(nextAction(r1, T0 + 10)).toEqual({ type: "wait", until_ms: T0 + 10 + 3000 });
    expect(nextAction(r1, T0 + 3010).type).toBe("observe");
    const perm = transition(
      run,
      {
        type: "upstream_failed",
        retryable: false,
        error: { code: "invalid_prompt", message: "no" },
        retry_after_ms: null,
      },
      T0 + 10,
    );
    expect(perm.status).toBe("failed");
    expect(upstreamBackoffMs(1, null)).toBe(1000);
    expect(upstreamBackoffMs(4, null)).toBe(8000);
    expect(upstreamBackoffMs(1, 20_000)).toBe(20_000);
  });

  it("retries delivery on a schedule, marks it failed when exhausted, and redeliver starts a new cycle", () => {
    let run = transition(
      transition(started(), { type: "response_observed", response: resp("completed") }, T0 + 20),
      { type: "thread_released" },
      T0 + 21,
    );
    const fail = (r: RunRecord, at: number, retry: number | null) =>
      transition(
        r,
        {
          type: "delivery_attempted",
          ok: false,
          status: 500,
          error: "HTTP 500",
          duration_ms: 3,
          retry_in_ms: retry,
        },
        at,
      );
    run = fail(run, T0 + 30, 5000);
    expect(run.delivery.state).toBe("pending");
    expect(nextAction(run, T0 + 31)).toEqual({ type: "wait", until_ms: T0 + 5030 });
    run = fail(run, T0 + 5030, null);
    expect(run.delivery.state).toBe("failed");
    expect(nextAction(run, T0 + 6000)).toEqual({ type: "done" });
    run = transition(run, { type: "redeliver" }, T0 + 7000);
    expect(run.delivery).toMatchObject({ state: "pending", cycle_start: 2, event_id: "evt_abc" });
    expect(deliveryRetryMs(1, 2, [5, 30])).toBe(5000);
    expect(deliveryRetryMs(2, 2, [5, 30])).toBe(30_000);
    expect(deliveryRetryMs(3, 2, [5, 30])).toBeNull();
  });

  it("presents the Assistants run shape with seconds and threadhook's fields", () => {
    const p = presentRun(newRun());
    expect(p).toMatchObject({
      object: "thread.run",
      status: "queued",
      created_at: T0 / 1000,
      expires_at: T0 / 1000 + 600,
      conversation: "slack:T1:C2",
    });
    expect(p.usage).toBeNull();
  });
});

describe("function calling", () => {
  const calls = (...names: string[]) =>
    names.map((name, i) => ({ call_id: `call_${i + 1}`, name, arguments: `{"n":${i}}` }));
  const toolRound = (names: string[], from = started()) =>
    transition(
      from,
      { type: "response_observed", response: resp("completed", { tool_calls: calls(...names) }) },
      T0 + 100,
    );

  it("calls endpoint tools first, then asks the caller for the rest, then continues with all outputs", () => {
    let run = toolRound(["get_weather", "ask_user"]);
    expect(run.status).toBe("in_progress");
    const action = nextAction(run, T0 + 100);
    expect(action).toMatchObject({ type: "call_tools", calls: [{ call_id: "call_1", name: "get_weather" }] });
    run = transition(
      run,
      { type: "tool_results", results: [{ call_id: "call_1", ok: true, output: "sunny" }] },
      T0 + 200,
    );
    expect(run.status).toBe("requires_action");
    expect(presentRun(run).required_action).toEqual({
      type: "submit_tool_outputs",
      submit_tool_outputs: {
        tool_calls: [
          { id: "call_2", type: "function", function: { name: "ask_user", arguments: '{"n":1}' } },
        ],
      },
    });
    expect(run.delivery).toMatchObject({
      state: "pending",
      event_type: "run.requires_action",
      event_id: "evt_abc_ra1",
    });
    run = transition(
      run,
      { type: "tool_outputs_submitted", outputs: [{ tool_call_id: "call_2", output: "yes" }] },
      T0 + 300,
    );
    expect(run.status).toBe("queued");
    const next = nextAction(run, T0 + 300);
    expect(next).toMatchObject({
      type: "create_response",
      request: {
        input: [
          { type: "function_call_output", call_id: "call_1", output: "sunny" },
          { type: "function_call_output", call_id: "call_2", output: "yes" },
        ],
      },
    });
    const created = transition(
      run,
      { type: "response_created", response: { ...resp("queued"), id: "resp_2" } },
      T0 + 301,
    );
    expect(created.pending_calls).toEqual([]);
    expect(created.steps[0]).toMatchObject({
      type: "tool_calls",
      status: "completed",
      tool_calls: [{ output: "sunny" }, { output: "yes" }],
    });
  });

  it("retries a failing endpoint, then gives the model an error output (or fails the run when asked)", () => {
    let run = toolRound(["get_weather"]);
    const failOnce = (r: RunRecord, at: number) =>
      transition(
        r,
        { type: "tool_results", results: [{ call_id: "call_1", ok: false, error: "HTTP 500" }] },
        at,
      );
    run = failOnce(run, T0 + 200);
    expect(nextAction(run, T0 + 201)).toEqual({ type: "wait", until_ms: T0 + 700 });
    run = failOnce(failOnce(run, T0 + 700), T0 + 2700);
    expect(run.pending_calls[0]?.output).toBe('{"error":"HTTP 500"}');
    expect(nextAction(run, T0 + 2701).type).toBe("create_response");
    const strict = toolRound(["get_weather"], {
      ...started(),
      params: { ...started().params, tool_errors: "fail" },
    });
    const failed = failOnce(failOnce(failOnce(strict, T0 + 1), T0 + 600), T0 + 3000);
    expect(failed.status).toBe("failed");
    expect(failed.last_error?.code).toBe("tool_error");
  });

  it("expires a run left in requires_action and closes its open calls in the conversation", () => {
    const run = toolRound(["ask_user"]);
    expect(run.status).toBe("requires_action");
    const expired = transition(run, { type: "tick" }, (run.action_deadline_ms ?? 0) + 1);
    expect(expired.status).toBe("expired");
    expect(nextAction(expired, expired.ended_at_ms ?? 0)).toEqual({
      type: "close_calls",
      conversation_id: "conv_1",
      call_ids: ["call_1"],
      outputs: [null],
    });
  });

  it("ends incomplete when the model keeps calling tools past the bound", () => {
    let run = toolRound(["get_weather"]);
    for (let round = 2; round <= 3; round++) {
      run = transition(
        run,
        { type: "tool_results", results: [{ call_id: "call_1", ok: true, output: "ok" }] },
        T0 + round * 1000,
      );
      run = transition(
        run,
        { type: "response_created", response: { ...resp("queued"), id: `resp_${round}` } },
        T0 + round * 1000 + 1,
      );
      run = transition(
        run,
        {
          type: "response_observed",
          response: { ...resp("completed", { tool_calls: calls("get_weather") }), id: `resp_${round}` },
        },
        T0 + round * 1000 + 2,
      );
    }
    expect(run.status).toBe("incomplete");
    expect(run.incomplete_details).toEqual({ reason: "max_tool_rounds" });
  });
});

describe("bounded records (issue 13, finding 6)", () => {
  const twelveCalls = () =>
    transition(
      started(),
      {
        type: "response_observed",
        response: resp("completed", {
          tool_calls: Array.from({ length: 12 }, (_, i) => ({
            call_id: `call_${i + 1}`,
            name: "ask_user",
            arguments: "{}",
          })),
        }),
      },
      T0 + 100,
    );
  const huge = (i: number) => `${String(i).repeat(10)}${"x".repeat(300_000)}`;

  it("stores each caller tool output once, capped, with a marker saying what was cut", () => {
    const outputs = Array.from({ length: 12 }, (_, i) => ({
      tool_call_id: `call_${i + 1}`,
      output: huge(i),
    }));
    const run = transition(twelveCalls(), { type: "tool_outputs_submitted", outputs }, T0 + 200);
    const size = JSON.stringify(run).length;
    // 12 × 300 KB given; each is kept at most 64 Ki characters and only in one place.
    expect(size).toBeLessThan(12 * 66_000);
    const [first] = run.pending_calls;
    expect(first?.output?.startsWith("0000000000xxx")).toBe(true);
    expect(first?.output?.length).toBeLessThanOrEqual(65_536);
    expect(first?.output).toMatch(/\[threadhook: output truncated, 65[0-9]{3} of 300010 characters kept\]$/);
    // The step still shows each output (read from the round while it is open).
    const step = run.steps.find((s) => s.type === "tool_calls");
    const shown = presentStep(run, step as NonNullable<typeof step>).step_details;
    expect(shown.type === "tool_calls" && shown.tool_calls[0]?.function.output).toBe(first?.output);
    // Once the round's response exists the round closes: the step keeps the outputs, the round goes.
    const next = transition(
      run,
      { type: "response_created", response: resp("queued", { id: "resp_2" }) },
      T0 + 300,
    );
    expect(next.pending_calls).toEqual([]);
    expect(next.steps.find((s) => s.type === "tool_calls")?.tool_calls?.[0]?.output).toBe(first?.output);
    expect(JSON.stringify(next).length).toBeLessThan(12 * 66_000);
  });

  it("caps an endpoint tool's output the same way; a short output is kept as it is", () => {
    const run = transition(
      started(),
      {
        type: "response_observed",
        response: resp("completed", {
          tool_calls: [
            { call_id: "call_1", name: "get_weather", arguments: "{}" },
            { call_id: "call_2", name: "get_weather", arguments: "{}" },
          ],
        }),
      },
      T0 + 100,
    );
    const done = transition(
      run,
      {
        type: "tool_results",
        results: [
          { call_id: "call_1", ok: true, output: huge(1) },
          { call_id: "call_2", ok: true, output: "sunny" },
        ],
      },
      T0 + 200,
    );
    expect(done.pending_calls.map((c) => c.output?.length ?? 0)[0]).toBeLessThanOrEqual(65_536);
    expect(done.pending_calls[1]?.output).toBe("sunny");
  });

  it("keeps the last 25 delivery attempts, and the current cycle's count stays right", () => {
    let run = transition(
      transition(started(), { type: "response_observed", response: resp("completed") }, T0 + 20),
      { type: "thread_released" },
      T0 + 21,
    );
    const attempt = (r: RunRecord, at: number) =>
      transition(
        r,
        {
          type: "delivery_attempted",
          ok: false,
          status: 500,
          error: "HTTP 500",
          duration_ms: 3,
          retry_in_ms: 10,
        },
        at,
      );
    for (let i = 0; i < 40; i++) run = attempt(run, T0 + 100 + i);
    expect(run.delivery.attempts).toHaveLength(25);
    expect(run.delivery.attempts.at(-1)?.at_ms).toBe(T0 + 139);
    run = transition(run, { type: "redeliver" }, T0 + 500);
    for (let i = 0; i < 3; i++) run = attempt(run, T0 + 600 + i);
    expect(run.delivery.attempts).toHaveLength(25);
    expect(run.delivery.attempts.length - run.delivery.cycle_start).toBe(3);
  });
});

describe("context and prompt limits (issue 13, finding 9)", () => {
  it("asks for every response with truncation auto, whatever the truncation_strategy", () => {
    let run = transition(newRun(), { type: "held_taken", messages: [] }, T0);
    run = transition(run, { type: "quota_checked", exceeded_limit: null }, T0);
    run = transition(run, { type: "conversation_ready", conversation_id: "conv_1" }, T0);
    run = {
      ...run,
      params: { ...run.params, truncation_strategy: { type: "last_messages", last_messages: 2 } },
    };
    const action = nextAction(run, T0);
    expect(action.type === "create_response" && action.request.truncation).toBe("auto");
  });

  it("ends incomplete (max_prompt_tokens) once the run's prompt tokens pass max_prompt_tokens, closing calls it leaves", () => {
    const limited = (r: RunRecord): RunRecord => ({ ...r, params: { ...r.params, max_prompt_tokens: 50 } });
    const usage = (input: number) => ({ input_tokens: input, output_tokens: 5, total_tokens: input + 5 });
    const content = [{ type: "text" as const, text: { value: "partial", annotations: [] } }];
    // Within the limit: completes as usual.
    const fine = transition(
      limited(started()),
      { type: "response_observed", response: resp("completed", { usage: usage(40), content }) },
      T0 + 10,
    );
    expect(fine.status).toBe("completed");
    // Past it: incomplete, with what the model said.
    const cut = transition(
      limited(started()),
      { type: "response_observed", response: resp("completed", { usage: usage(60), content }) },
      T0 + 10,
    );
    expect(cut.status).toBe("incomplete");
    expect(cut.incomplete_details).toEqual({ reason: "max_prompt_tokens" });
    expect(cut.output?.text).toBe("partial");
    expect(buildEvent(cut).type).toBe("run.incomplete");
    // A response that asked for tools past the limit: no new round; its calls are closed.
    const calls = [{ call_id: "call_9", name: "ask_user", arguments: "{}" }];
    const withCalls = transition(
      limited(started()),
      { type: "response_observed", response: resp("completed", { usage: usage(60), tool_calls: calls }) },
      T0 + 10,
    );
    expect(withCalls.status).toBe("incomplete");
    expect(withCalls.tool_rounds).toBe(0);
    expect(nextAction(withCalls, T0 + 11)).toMatchObject({ type: "close_calls", call_ids: ["call_9"] });
  });
});

describe("what a run's end closes and gives back (issue 13, finding 8)", () => {
  const ask = [{ call_id: "call_1", name: "ask_user", arguments: "{}" }];
  const waiting = () =>
    transition(
      started(),
      { type: "response_observed", response: resp("completed", { tool_calls: ask }) },
      T0 + 10,
    );
  const answered = () =>
    transition(
      waiting(),
      { type: "tool_outputs_submitted", outputs: [{ tool_call_id: "call_1", output: "42" }] },
      T0 + 20,
    );

  it("a round answered but never sent (the outputs' create failed) is closed with its outputs", () => {
    const failed = transition(
      answered(),
      {
        type: "upstream_failed",
        retryable: false,
        error: { code: "invalid_prompt", message: "no" },
        retry_after_ms: null,
      },
      T0 + 30,
    );
    expect(failed.status).toBe("failed");
    expect(nextAction(failed, T0 + 31)).toEqual({
      type: "close_calls",
      conversation_id: "conv_1",
      call_ids: ["call_1"],
      outputs: ["42"],
    });
    // The run's first round completed: its input is in the conversation, nothing to give back.
    const closed = transition(failed, { type: "calls_closed" }, T0 + 32);
    expect(nextAction(closed, T0 + 32)).toEqual({ type: "release_thread" });
  });

  it("cancelled while the model answers the outputs: the round's calls are closed with the outputs given", () => {
    let run = transition(
      answered(),
      { type: "response_created", response: resp("queued", { id: "resp_2" }) },
      T0 + 30,
    );
    expect(run.pending_calls).toEqual([]);
    run = transition({ ...run, cancel_requested: true }, { type: "tick" }, T0 + 40);
    expect(run.status).toBe("cancelling");
    run = transition(run, { type: "cancel_sent" }, T0 + 41);
    run = transition(
      run,
      { type: "response_observed", response: resp("cancelled", { id: "resp_2" }) },
      T0 + 42,
    );
    expect(run.status).toBe("cancelled");
    expect(nextAction(run, T0 + 43)).toEqual({
      type: "close_calls",
      conversation_id: "conv_1",
      call_ids: ["call_1"],
      outputs: ["42"],
    });
  });

  it("a round whose outputs' response completed leaves nothing open", () => {
    let run = transition(
      answered(),
      { type: "response_created", response: resp("queued", { id: "resp_2" }) },
      T0 + 30,
    );
    run = transition(
      run,
      { type: "response_observed", response: resp("completed", { id: "resp_2" }) },
      T0 + 40,
    );
    expect(run.status).toBe("completed");
    expect(nextAction(run, T0 + 41)).toEqual({ type: "release_thread" });
  });
});

describe("messages given back by an earlier run (issue 13, finding 8)", () => {
  it("come first in the input of the run that takes them, once", () => {
    const earlier = [{ role: "user" as const, content: "remember banana" }];
    const run = transition(newRun(), { type: "held_taken", messages: earlier }, T0);
    expect(run.input).toEqual([
      { role: "user", content: "remember banana" },
      { role: "user", content: "hello" },
    ]);
    expect(transition(run, { type: "held_taken", messages: earlier }, T0).input).toEqual(run.input);
    expect(transition(newRun(), { type: "held_taken", messages: [] }, T0).input).toBe("hello");
  });
});
