/**
 * The `call` strategy's vocabulary: QStash makes a round's create request (a foreground response)
 * and calls back with OpenAI's answer. Pure helpers; the state lives in `run.upstream.call`.
 */
import type { RunRecord } from "./types";

/**
 * The round's call attempt: raised only by an answered call (`upstream.call_attempt`); records from
 * before it counted every failure of the round.
 */
export const callAttempt = (run: RunRecord) => run.upstream.call_attempt ?? run.upstream.failures;

/**
 * The attempt a call belongs to: the round, the responses so far and the round's call attempt.
 * Deterministic, so a step that runs again from the same saved state (it died after publishing, or
 * its save after the publish failed) builds the same key, and QStash's deduplication drops the
 * second publish, also when that step met other failures first (a look at the conversation that
 * failed): only an answered call moves the key on (a second response for the round otherwise).
 */
export const callKey = (run: RunRecord) =>
  `${run.tool_rounds}.${run.upstream.response_ids.length}.${callAttempt(run)}`;

/** A call is in flight for the run's current attempt. */
export const callInFlight = (run: RunRecord) => Boolean(run.upstream.call);

/**
 * Whether a callback for `key` answers what the run waits for: its call in flight, or — when the
 * step that published the call died before saving it — the call the run would send now
 * (`wouldCreate`: the run is about to create the round, or waits to, its intent saved).
 */
export function callbackMatches(run: RunRecord, key: string, wouldCreate: boolean): boolean {
  if (run.upstream.call) return run.upstream.call.key === key;
  return wouldCreate && callKey(run) === key;
}

/**
 * The key of a round's create: the round and the responses so far. The same for every attempt of
 * one round, so a response found under it (its metadata) is the round's, whichever attempt made it.
 */
export const createKey = (run: RunRecord) => `${run.tool_rounds}.${run.upstream.response_ids.length}`;
