/**
 * The one claim-and-wait loop (steps and run commands both use it): claim a run (its fencing seq and the lease), waiting while someone
 * else holds it, with a bounded number of Redis requests.
 */
import {
  CLAIM_FIRST_RETRY_MS,
  CLAIM_MAX_ATTEMPTS,
  STEP_CLAIM_WAIT_MS,
  STEP_LEASE_MS,
} from "../engine/constants";
import type { ClaimOutcome, RunStore } from "./runs";

export interface ClaimDeps {
  runs: Pick<RunStore, "claim">;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** The run to claim; `seq: null` claims it at whatever seq it is at (the outcome's `seq` says which). */
export interface ClaimTarget {
  tenant: string;
  run_id: string;
  seq: number | null;
}

export interface ClaimWait {
  /** Give up once this long has passed since the first attempt. */
  waitMs: number;
  /** Sleep before the second attempt; each later sleep doubles, none reaches past `waitMs`. */
  retryMs: number;
  /** The lease to take (default STEP_LEASE_MS; steps take `stepLeaseMs(budget)`). */
  leaseMs?: number;
  /** At most this many claims, each a Redis request (default CLAIM_MAX_ATTEMPTS). */
  maxAttempts?: number;
}

/**
 * Claim `target` for `owner` (lease `wait.leaseMs`, default STEP_LEASE_MS). Only `busy` (leased by another owner, or `seq`
 * ahead of the record: the step that published this one has not saved yet) is retried; `ok`,
 * `stale` and `missing` are returned at once. After `wait.maxAttempts` (CLAIM_MAX_ATTEMPTS) attempts or `waitMs`,
 * whichever comes first, the last `busy` is returned. Sleeps through `deps.sleep` only.
 * With the defaults (2 s, 25 ms) attempts go out at about 0, 25, 75, 175, 375, 775, 1575 and 2000 ms:
 * at most CLAIM_MAX_ATTEMPTS (8) Redis requests per claim, whatever the wait.
 */
export async function claimWithWait(
  deps: ClaimDeps,
  target: ClaimTarget,
  owner: string,
  wait: ClaimWait = { waitMs: STEP_CLAIM_WAIT_MS, retryMs: CLAIM_FIRST_RETRY_MS },
): Promise<ClaimOutcome> {
  const giveUpAt = deps.now() + wait.waitMs;
  let pause = wait.retryMs;
  for (let attempt = 1; ; attempt++) {
    const claim = await deps.runs.claim(
      target.tenant,
      target.run_id,
      target.seq,
      owner,
      deps.now(),
      wait.leaseMs ?? STEP_LEASE_MS,
    );
    const left = giveUpAt - deps.now();
    if (claim.kind !== "busy" || attempt >= (wait.maxAttempts ?? CLAIM_MAX_ATTEMPTS) || left <= 0)
      return claim;
    await deps.sleep(Math.min(pause, left));
    pause *= 2;
  }
}
