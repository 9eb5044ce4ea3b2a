/**
 * QStash refusals (its daily message quota, its rate limit): the adapter turns the SDK's 429 errors
 * into 503 + Retry-After; a step whose publish is refused keeps its work, says why in the run's
 * timeline, and answers that 503 so QStash delivers it again later.
 */
import { QstashDailyRatelimitError, QstashError, QstashRatelimitError } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { ApiError, isQueueRefusal, queueRefused } from "../../src/errors";
import { refusals } from "../../src/queue/steps";
import type { Deps } from "../../src/steps/actions";
import { driveStep } from "../../src/steps/runner";
import { fakeClock, fakeRunStore, fakeUpstream, newRun, resp, S } from "./step-fakes";

const NOW = 1_700_000_000_000;
const refusedBy = (err: unknown) =>
  refusals(() => Promise.reject(err), NOW).then(
    () => null,
    (e: unknown) => e,
  );

describe("refusals", () => {
  it("the daily quota becomes 503 queue_quota_exceeded with Retry-After until QStash's reset", async () => {
    const reset = String(NOW / 1000 + 3_600);
    const err = await refusedBy(new QstashDailyRatelimitError({ limit: "1000", remaining: "0", reset }));
    expect(isQueueRefusal(err)).toBe(true);
    expect(err).toMatchObject({
      status: 503,
      code: "queue_quota_exceeded",
      headers: { "Retry-After": "3600" },
    });
  });

  it("the rate limit becomes 503 queue_rate_limited, at least 1 s", async () => {
    const reset = String(NOW / 1000);
    const err = await refusedBy(new QstashRatelimitError({ limit: "10", remaining: "0", reset }));
    expect(err).toMatchObject({ status: 503, code: "queue_rate_limited", headers: { "Retry-After": "1" } });
    expect(await refusedBy(new QstashError("busy", 429))).toMatchObject({ code: "queue_rate_limited" });
  });

  it("other failures pass through unchanged", async () => {
    const other = new QstashError("bad", 500);
    expect(await refusedBy(other)).toBe(other);
  });
});

describe("a step whose next publish is refused", () => {
  it("saves its work with a timeline note, keeps the seq, and answers the 503", async () => {
    const clock = fakeClock();
    const store = fakeRunStore(newRun(), 0);
    const refusal = queueRefused("daily_quota", 600);
    const deps = {
      config: { drive: { strategy: "poll", budgetMs: 25 * S }, devMode: false },
      runs: store.store,
      threads: { get: async () => ({ conversation_id: "conv_1" }), setConversationId: async () => "conv_1" },
      queue: {
        publish: async () => {
          throw refusal;
        },
      },
      upstream: fakeUpstream({ createResponse: async () => resp("queued") }),
      webhookSecrets: async () => [],
      now: clock.now,
      sleep: clock.sleep,
    } as unknown as Deps;
    const err = await driveStep(deps, { tenant: "t1", run_id: "run_1", seq: 0 }).catch((e: unknown) => e);
    expect(err).toBe(refusal);
    expect((err as ApiError).headers["Retry-After"]).toBe("600");
    // The response it created is saved (not created again on the retry), the seq stays for the retry.
    expect(store.state.run?.upstream.response_id).toBe("resp_1");
    expect(store.state.seq).toBe(0);
    expect(store.state.lease).toBeNull();
    expect(store.state.run?.timeline.at(-1)?.cause).toMatch(/daily message quota is spent.*retried/);
  });
});

it("queueRefused is an ApiError: the app answers it as it is", () => {
  expect(queueRefused("rate_limit", 0.2)).toBeInstanceOf(ApiError);
});
