/** Issue 13, finding 1 in the engine: a create's intent, its unknown outcome, strays counted once. */
import { describe, expect, it } from "vitest";
import { nextAction } from "../../src/engine/next";
import { transition } from "../../src/engine/run";
import { resp, T0 } from "../support/run-fixtures";
import { newRun } from "./step-fakes";

/** A run past its start (held messages taken, quota checked) with its conversation: next is the create. */
const ready = () =>
  [
    { type: "held_taken" as const, messages: [] },
    { type: "quota_checked" as const, exceeded_limit: null },
    { type: "conversation_ready" as const, conversation_id: "conv_1" },
  ].reduce((run, event) => transition(run, event, T0), newRun());
const intending = () => transition(ready(), { type: "create_started", key: "0.0" }, T0);
const failed = (code: string, unknown: boolean) => ({
  type: "upstream_failed" as const,
  retryable: true,
  error: { code, message: code },
  retry_after_ms: null,
  outcome_unknown: unknown,
});

describe("a round's create intent", () => {
  it("puts the round's key in the response's metadata", () => {
    const action = nextAction(ready(), T0);
    expect(action.type === "create_response" && action.request.metadata.threadhook_create).toBe("0.0");
  });

  it("is cleared by the response it made", () => {
    const run = transition(intending(), { type: "response_created", response: resp("queued") }, T0);
    expect(run.upstream.creating).toBeNull();
  });

  it("stays while the outcome is unknown, and a later attempt keeps the first one's time", () => {
    const lost = transition(intending(), failed("server_error", true), T0);
    expect(lost.upstream.creating).toEqual({ key: "0.0", at_ms: T0, unknown: true });
    const again = transition(lost, { type: "create_started", key: "0.0" }, T0 + 5_000);
    expect(again.upstream.creating).toEqual({ key: "0.0", at_ms: T0, unknown: true });
  });

  it("stays when a later attempt is refused outright: the earlier one may have made a response", () => {
    // Soak seed 10000: the retry's look found nothing (the response still ran), a 429 refused the
    // retry, and the attempt after it (the response had ended: no conversation_locked) created again.
    const lost = transition(intending(), failed("server_error", true), T0);
    const again = transition(lost, { type: "create_started", key: "0.0" }, T0 + 1_000);
    const refused = transition(again, failed("rate_limit_exceeded", false), T0 + 1_000);
    expect(refused.upstream.creating).toEqual({ key: "0.0", at_ms: T0, unknown: true });
    const action = nextAction(refused, T0 + 60_000);
    expect(action.type).toBe("create_response");
  });

  it("stays when a QStash call stands for the round after an attempt whose outcome was unknown", () => {
    // A `call` answered conversation_locked (or refused) must not leave the next attempt blind.
    const lost = transition(intending(), failed("server_error", true), T0);
    const again = transition(lost, { type: "create_started", key: "0.0" }, T0 + 1_000);
    const sent = transition(again, { type: "call_sent", key: "0.0.1", until_ms: T0 + 60_000 }, T0 + 1_000);
    expect(sent.upstream.creating).toEqual({ key: "0.0", at_ms: T0, unknown: true });
    const locked = transition(sent, failed("conversation_locked", false), T0 + 2_000);
    expect(locked.upstream.creating?.key).toBe("0.0");
    // Counted, so the next call's key (its deduplication id) differs and QStash sends it.
    expect(locked.upstream.failures).toBe(lost.upstream.failures + 1);
    expect(nextAction(locked, T0 + 60_000).type).toBe("create_response");
    // Without an unknown attempt before it, the call stands for the intent alone, as before.
    const plain = transition(intending(), { type: "call_sent", key: "0.0.0", until_ms: T0 + 60_000 }, T0);
    expect(plain.upstream.creating).toBeNull();
  });

  it("is dropped when the create was refused outright (it made no response)", () => {
    const refused = transition(intending(), failed("rate_limit_exceeded", false), T0);
    expect(refused.upstream.creating).toBeNull();
  });

  it("conversation_locked while an earlier create is unanswered: wait, no failure counted", () => {
    const lost = transition(intending(), failed("server_error", true), T0);
    const locked = transition(lost, failed("conversation_locked", false), T0 + 1_000);
    expect(locked.upstream.creating?.key).toBe("0.0");
    expect(locked.upstream.failures).toBe(lost.upstream.failures);
    expect(locked.upstream.retry_at_ms).toBeGreaterThan(T0 + 1_000);
    expect(locked.status).toBe("queued");
  });

  it("counts a stray response's tokens once", () => {
    const run = transition(intending(), { type: "response_created", response: resp("queued") }, T0);
    const usage = { input_tokens: 7, output_tokens: 5, total_tokens: 12 };
    const stray = resp("completed", { id: "resp_stray", usage });
    const once = transition(run, { type: "stray_response", response: stray }, T0);
    const twice = transition(once, { type: "stray_response", response: stray }, T0);
    expect(once.usage.total_tokens).toBe(run.usage.total_tokens + 12);
    expect(twice.usage).toEqual(once.usage);
  });
});
