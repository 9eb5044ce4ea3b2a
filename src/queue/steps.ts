/**
 * The step queue: publishes `drive` steps to QStash (delayed when asked) and verifies the
 * signature of step deliveries. The step message is `{ tenant, run_id, seq }`: `seq` is the run's
 * fencing token at publish time, so stale and duplicate deliveries are recognised.
 */
import { Client, Receiver } from "@upstash/qstash";

export interface StepMessage {
  tenant: string;
  run_id: string;
  seq: number;
}

export interface StepQueue {
  /** `reason` makes the deduplication id: retries of the same publish collapse, distinct triggers do not. */
  publish(msg: StepMessage, opts: { delayMs: number; reason: string }): Promise<void>;
  verify(signature: string | null, body: string, url: string): Promise<boolean>;
}

export const STEP_PATH = "/internal/steps/drive";
/** QStash retries of a step that answered non-2xx (infrastructure errors) before it is dead-lettered. */
export const STEP_RETRIES = 3;

export function createStepQueue(cfg: {
  url: string;
  token: string;
  currentSigningKey: string;
  nextSigningKey: string;
  baseUrl: string;
}): StepQueue {
  const client = new Client({ baseUrl: cfg.url, token: cfg.token, retry: { retries: 2 } });
  const receiver = new Receiver({
    currentSigningKey: cfg.currentSigningKey,
    nextSigningKey: cfg.nextSigningKey,
  });
  const destination = `${cfg.baseUrl}${STEP_PATH}`;
  return {
    async publish(msg, { delayMs, reason }) {
      const delay = Math.ceil(delayMs / 1000);
      await client.publishJSON({
        url: destination,
        body: msg,
        retries: STEP_RETRIES,
        deduplicationId: `${msg.tenant}.${msg.run_id}.${msg.seq}.${reason}`,
        ...(delay > 0 ? { delay } : {}),
      });
    },
    async verify(signature, body, url) {
      if (!signature) return false;
      try {
        return await receiver.verify({ signature, body, url });
      } catch {
        return false;
      }
    },
  };
}
