/**
 * `webhook`: OpenAI's `response.*` webhook wakes the run (the observe route → `driveEnded`); a step
 * itself looks once (creating the response without streaming, or one GET) and schedules only a
 * safety-net poll for a webhook that never comes.
 */
import { SAFETY_POLL_MAX_MS, SAFETY_POLL_MIN_MS } from "../../engine/constants";
import type { RunRecord } from "../../engine/types";
import { onePollPerStep } from "./shared";

/** The wait before the next safety-net poll: the response's age, within bounds, never past the deadline. */
export function safetyPollInMs(run: RunRecord, now: number): number {
  const age = now - (run.upstream.response_started_at_ms ?? now);
  const wait = Math.min(SAFETY_POLL_MAX_MS, Math.max(SAFETY_POLL_MIN_MS, age));
  return Math.max(0, Math.min(wait, run.deadline_ms - now));
}

export const webhook = onePollPerStep(safetyPollInMs);
