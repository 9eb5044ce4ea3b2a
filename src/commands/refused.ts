/**
 * A run that could not start for good after its caller was told it would (a delayed run's start,
 * commands/deferred.ts) or that a schedule's firing asked for (commands/schedules.ts): the assistant
 * was deleted, the month's quota is used up. It is written as a `failed` run with why
 * (`last_error`), once, and when it has a callback URL a step delivers its `run.failed` the way
 * every run's end is delivered (signed, retried, redeliverable).
 */
import { transition } from "../engine/run";
import type { LastError, RunRecord } from "../engine/types";
import type { ApiError } from "../errors";
import type { StepQueue } from "../queue/steps";
import type { RunStore } from "../store/runs";

export interface RefuseDeps {
  runs: Pick<RunStore, "createEnded">;
  queue: Pick<StepQueue, "publish">;
  now: () => number;
}

/** Why a refusal happened, as the run's `last_error`. */
export const refusalError = (err: ApiError): LastError => ({
  code: err.code ?? "run_refused",
  message: err.message,
});

/**
 * Record `run` (as announced, or as it would have been) as failed with `error`, under `idem` when
 * given (a repeat of the same firing finds it), and publish the step that delivers its callback.
 * → the id of the failed run (an earlier one's for a repeat).
 */
export async function refuseRun(
  deps: RefuseDeps,
  run: RunRecord,
  error: LastError,
  idem: { key: string; bodyHash: string } | null,
): Promise<string> {
  const failed = transition(run, { type: "refused", error }, deps.now());
  const written = await deps.runs.createEnded(failed, idem);
  const runId = written.kind === "duplicate" ? written.runId : failed.id;
  // A repeat publishes the same step again: QStash deduplicates it, and a late one is stale.
  if (failed.callback && runId)
    await deps.queue.publish(
      { tenant: run.tenant, run_id: runId, seq: 0 },
      { delayMs: 0, reason: "refused" },
    );
  return runId;
}
