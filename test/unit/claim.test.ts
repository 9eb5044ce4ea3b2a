/**
 * The claim-and-wait loop with a scripted `claim` and an injected clock: which outcomes it waits
 * on, how long it sleeps between attempts, and that it never makes more than CLAIM_MAX_ATTEMPTS
 * Redis requests in one call. No real timers: the clock moves only when the loop sleeps.
 */
import { describe, expect, it } from "vitest";
import { CLAIM_MAX_ATTEMPTS, STEP_LEASE_MS } from "../../src/engine/constants";
import { claimWithWait } from "../../src/store/claim";
import type { ClaimOutcome } from "../../src/store/runs";
import { fakeClock, newRun, T0 } from "./step-fakes";

const run = newRun();
const ok: ClaimOutcome = { kind: "ok", run, cancelRequested: false, seq: 3 };
const busy: ClaimOutcome = { kind: "busy", retryAfterMs: 1_000 };
const target = { tenant: "t1", run_id: "run_1", seq: 3 };

/** `claim` answers `answers` in order (the last repeats) and records its arguments. */
function setup(...answers: ClaimOutcome[]) {
  const clock = fakeClock();
  const args: unknown[][] = [];
  const runs = {
    claim: async (...a: unknown[]) => {
      args.push(a);
      return answers[Math.min(args.length - 1, answers.length - 1)] as ClaimOutcome;
    },
  };
  return { deps: { runs, now: clock.now, sleep: clock.sleep }, clock, args };
}

describe("claimWithWait", () => {
  it("gets the claim after a few busy answers, sleeping 25 ms then twice as long each time", async () => {
    const t = setup(busy, busy, busy, ok);
    expect(await claimWithWait(t.deps, target, "lease_a")).toBe(ok);
    expect(t.args).toHaveLength(4);
    expect(t.clock.sleeps).toEqual([25, 50, 100]);
    expect(t.args[3]).toEqual(["t1", "run_1", 3, "lease_a", T0 + 175, STEP_LEASE_MS]);
  });

  it("returns ok, stale and missing at once, without sleeping", async () => {
    const stale: ClaimOutcome = { kind: "stale", run };
    for (const outcome of [ok, stale, { kind: "missing" } as const]) {
      const t = setup(outcome);
      expect(await claimWithWait(t.deps, target, "lease_a")).toBe(outcome);
      expect(t.args).toHaveLength(1);
      expect(t.clock.sleeps).toEqual([]);
    }
  });

  it("gives up busy after CLAIM_MAX_ATTEMPTS attempts, the last at the end of the wait", async () => {
    const t = setup(busy);
    expect(await claimWithWait(t.deps, target, "lease_a")).toEqual(busy);
    expect(CLAIM_MAX_ATTEMPTS).toBe(8);
    expect(t.args).toHaveLength(CLAIM_MAX_ATTEMPTS);
    expect(t.clock.sleeps).toEqual([25, 50, 100, 200, 400, 800, 425]);
    expect(t.clock.now()).toBe(T0 + 2_000);
  });

  it("never makes more than CLAIM_MAX_ATTEMPTS requests, however long the wait", async () => {
    const t = setup(busy);
    await claimWithWait(t.deps, target, "lease_a", { waitMs: 3_600_000, retryMs: 1 });
    expect(t.args).toHaveLength(CLAIM_MAX_ATTEMPTS);
    const zero = setup(busy);
    await claimWithWait(zero.deps, target, "lease_a", { waitMs: 3_600_000, retryMs: 0 });
    expect(zero.args).toHaveLength(CLAIM_MAX_ATTEMPTS);
  });

  it("takes a bound of attempts of its own (a callback's longer wait)", async () => {
    const t = setup(busy);
    await claimWithWait(t.deps, target, "lease_a", { waitMs: 10_000, retryMs: 25, maxAttempts: 10 });
    expect(t.args).toHaveLength(10);
    expect(t.clock.sleeps).toEqual([25, 50, 100, 200, 400, 800, 1_600, 3_200, 3_625]);
    expect(t.clock.now()).toBe(T0 + 10_000);
  });

  it("stops at the end of a short wait, before the attempts run out", async () => {
    const t = setup(busy);
    await claimWithWait(t.deps, target, "lease_a", { waitMs: 100, retryMs: 25 });
    expect(t.clock.sleeps).toEqual([25, 50, 25]);
    expect(t.args).toHaveLength(4);
    const none = setup(busy);
    await claimWithWait(none.deps, target, "lease_a", { waitMs: 0, retryMs: 25 });
    expect(none.args).toHaveLength(1);
  });

  it("counts time the claims themselves take against the wait", async () => {
    const t = setup(busy);
    const slow = {
      ...t.deps,
      runs: {
        claim: async (...a: unknown[]) => {
          t.clock.advance(600); // a slow Redis
          return t.deps.runs.claim(...a);
        },
      },
    };
    await claimWithWait(slow, target, "lease_a");
    // 0 → 600 (sleep 25) → 1225 (sleep 50) → 1875 (sleep 100) → 2575: past the 2 s wait.
    expect(t.clock.sleeps).toEqual([25, 50, 100]);
    expect(t.args).toHaveLength(4);
  });

  it("passes seq null through: claim the run at whatever seq it is at", async () => {
    const t = setup(ok);
    await claimWithWait(t.deps, { ...target, seq: null }, "lease_b");
    expect(t.args[0]?.[2]).toBeNull();
  });
});
