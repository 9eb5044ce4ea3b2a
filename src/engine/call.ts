/**
 * The `call` strategy's vocabulary: QStash makes a round's create request (a foreground response)
 * and calls back with OpenAI's answer. Pure helpers; the state lives in `run.upstream.call`.
 */
import type { RunRecord } from "./types";

/**
 * The attempt a call belongs to: the round, the responses so far and the failures of this round.
 * Deterministic, so a step that runs again from the same saved state (it died after publishing)
 * builds the same key, and QStash's deduplication drops the second publish.
 */
export const callKey = (run: RunRecord) =>
  `${run.tool_rounds}.${run.upstream.response_ids.length}.${run.upstream.failures}`;

/** A call is in flight for the run's current attempt. */
export const callInFlight = (run: RunRecord) => Boolean(run.upstream.call);

/**
 * Whether a callback for `key` answers what the run waits for: its call in flight, or — when the
 * step that published the call died before saving it — the call the run would send now.
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
