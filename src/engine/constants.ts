/** Named constants with their units. Tunables that operators change live in config.ts instead. */
export const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;

/**
 * A lease for the short holders (run commands: cancel, submit; a call's callback): longer than any
 * of them holds a run. Steps take `stepLeaseMs(budget)` instead.
 */
export const STEP_LEASE_MS = 60 * SECOND_MS;
/** The longest a tool endpoint may take (schemas.ts caps `timeout_ms` at this). */
export const TOOL_TIMEOUT_MAX_MS = 60 * SECOND_MS;
/** The longest a create waits for its answer (upstream/openai.ts), and any other OpenAI call. */
export const UPSTREAM_CALL_MAX_MS = 30 * SECOND_MS;
/**
 * A step that finds its run waiting for a call's answer (the `call` strategy) this long after the
 * call was sent, or after the last look, reads the conversation for the answer (engine/next.ts
 * `awaitCall`): its callback may have been dead-lettered. Only steps the reconciler, a cancel or a
 * rescue publish find a run so: the step that sends the call ends right after it.
 */
export const CALL_LOOK_MIN_MS = 2 * SECOND_MS;
/**
 * After a call's timeout (`until_ms`) its callback still has QStash's retries to come (1 + 4 + 16 s);
 * past this, no answer will: the call is lost.
 */
export const CALL_ANSWER_GRACE_MS = 60 * SECOND_MS;
/** Slack for Redis and QStash calls, and clocks. */
export const LEASE_MARGIN_MS = 5 * SECOND_MS;
/** The longest a step's own Redis and QStash calls around an action take (take_held, a release, a publish). */
export const SHORT_CALL_MAX_MS = 5 * SECOND_MS;
/**
 * A step's base lease, taken with its claim: its budget, a few Redis calls and a margin (35 s with
 * the default 25 s budget). A killed step stalls its run
 * this long at most before QStash's retry can claim it. Each action that may take longer than
 * what is left of the lease extends it first, for that action's own maximum (runner.ts
 * `actionLeaseMs`: a create's answer, a tool round, a delivery), folded into a save where the step
 * saves anyway; saves never shorten a lease.
 */
export const stepLeaseMs = (budgetMs: number) => budgetMs + SHORT_CALL_MAX_MS + LEASE_MARGIN_MS;
/** A busy answer's Retry-After when no lease says how long (the step that scheduled this one is saving). */
export const BUSY_RETRY_MS = 2 * SECOND_MS;
/**
 * Claiming a run that another holder has (see steps/claim.ts): attempts are bounded because each is a
 * Redis request, a subrequest, and Workers Free allows 50 per invocation; the wait between attempts
 * starts at CLAIM_FIRST_RETRY_MS and doubles, and the last attempt lands on the wait's end.
 */
export const CLAIM_MAX_ATTEMPTS = 8;
export const CLAIM_FIRST_RETRY_MS = 25;
/** How long a step waits for a claim held by the step that scheduled it to be released. */
export const STEP_CLAIM_WAIT_MS = 2 * SECOND_MS;
/**
 * How long QStash's callback with a call's answer waits for the run's lease (steps/called.ts). The
 * holder is almost always the step that published the call, finishing its save: on a starved
 * Worker that can outlast STEP_CLAIM_WAIT_MS, and a callback refused as busy costs a redelivery (an
 * invocation) exactly when there is least capacity. Waiting costs no CPU; the attempts (attempts at
 * about 0, 25, 75, 175, 375, 775, 1575, 3175, 6375 and 10000 ms) stay well inside Free's 50
 * subrequests.
 */
export const CALLBACK_CLAIM_WAIT_MS = 10 * SECOND_MS;
export const CALLBACK_CLAIM_MAX_ATTEMPTS = 10;
/** Poll interval bounds for the polling drive strategies. */
export const POLL_MIN_INTERVAL_MS = 100;
export const POLL_MAX_INTERVAL_MS = 2 * SECOND_MS;
/** Delay between steps when a step ends without news (one-poll-per-step strategy). */
export const STEP_POLL_DELAY_S = 2;
/**
 * Webhook strategy: OpenAI's `response.*` webhook wakes the run; these polls are only the safety
 * net for a webhook that never comes. The wait before each one equals the response's age, within
 * bounds (20 s, 40 s, 80 s, then every 2 min), so runs under 20 s see no poll at all.
 */
export const SAFETY_POLL_MIN_MS = 20 * SECOND_MS;
export const SAFETY_POLL_MAX_MS = 2 * MINUTE_MS;
/** Backoff for retryable upstream failures: base * 2^n, capped. */
export const UPSTREAM_BACKOFF_BASE_MS = SECOND_MS;
export const UPSTREAM_BACKOFF_MAX_MS = 5 * MINUTE_MS;
/** Retryable upstream failures tolerated before the run fails. */
export const UPSTREAM_MAX_FAILURES = 8;
/** Delivery: per-attempt timeout (the retry schedule is config: DELIVERY_BACKOFF_S). */
export const DELIVERY_TIMEOUT_MS = 10 * SECOND_MS;
/** The reconciler's place in a tenant's active slots lapses after a day without calls (it starts over). */
export const RECONCILE_CURSOR_TTL_S = 24 * 3600;
/** Records: runs and threads expire after this long without activity; idempotency keys sooner. */
export const RUN_TTL_S = 30 * 24 * 3600;
export const THREAD_TTL_S = 90 * 24 * 3600;
export const IDEMPOTENCY_TTL_S = 24 * 3600;
/**
 * A run holds one of its tenant's active-run slots from its start to its end, at most its timeout
 * (≤ 86 400 s). A slot older than that plus a margin belongs to a run whose steps died; it is freed.
 */
export const ACTIVE_SLOT_STALE_MS = 25 * 3600 * SECOND_MS;
/** Monthly usage counters outlive the year they describe. */
export const USAGE_TTL_S = 400 * 24 * 3600;
/** Upper bound on slot handoffs in one release (each hands one slot; the cap bounds them anyway). */
export const MAX_HANDOFFS_PER_RELEASE = 100;
