/**
 * Writing down what a receiver already has. Once a callback or progress event was answered 2xx,
 * the Redis write that records it is the only thing between one delivery and two: when it fails,
 * the step fails, QStash delivers it again, and the step finds the event still pending and sends it
 * again (issue 13: the soak's duplicate callbacks after a Redis error). So that write is tried
 * again a few times, with short pauses, before the step gives up (a Redis REST failure is mostly
 * a moment's: a 5xx, a dropped connection). A write that ran although its answer was lost is safe
 * to repeat: a save under a lease still held writes the same record, and one that finished the
 * step finds the lease gone (the step then fails, and QStash's retry of it is stale).
 */
import { WorkerDied } from "../config";
import { errorFields, log } from "../log";

/** The pauses before each repeat of a failed write of an outcome (then the step fails). */
export const OUTCOME_RETRY_PAUSES_MS = [100, 400, 1_500] as const;

export async function writeOutcome<T>(
  deps: { sleep: (ms: number) => Promise<void> },
  what: Record<string, unknown>,
  write: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const pause = OUTCOME_RETRY_PAUSES_MS[attempt];
      if (pause === undefined || err instanceof WorkerDied) throw err;
      log("warn", "could not record a delivery's outcome; trying again", { ...what, ...errorFields(err) });
      await deps.sleep(pause);
    }
  }
}
