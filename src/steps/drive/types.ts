/** The common shape of the drive strategies: how a step follows a run's response (DRIVE_STRATEGY). */
import type { Config } from "../../config";
import type { RunRecord } from "../../engine/types";
import type { StepQueue } from "../../queue/steps";
import type { ResponseRequest } from "../../engine/upstream-types";
import type { ResponseIndex } from "../../store/responses";
import type { Upstream } from "../../upstream/openai";

/** A step's limits while it performs an action: its wall-time budget, and how to save progress. */
export interface ActionContext {
  budgetEnd: number;
  save: (run: RunRecord) => Promise<void>;
}

/** `yieldAfterMs`: end this step and schedule the next one after that long (null: keep going). */
export interface ActionResult {
  run: RunRecord;
  yieldAfterMs: number | null;
}

/**
 * What a strategy may use: the upstream calls that create and watch responses, QStash making a call
 * (the `call` strategy), the clock.
 */
export interface DriveDeps {
  upstream: Pick<
    Upstream,
    "createResponse" | "createAndStream" | "streamResponse" | "getResponse" | "callRequest"
  >;
  queue: Pick<StepQueue, "publishCall">;
  config: { drive: Pick<Config["drive"], "callMaxS"> };
  /** Remembers which run a background response belongs to, for OpenAI's webhook receiver. */
  responses?: Pick<ResponseIndex, "remember">;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Both return the run after feeding what was seen to the engine, and whether to end the step
 * (`yieldAfterMs`: schedule the next step after that long; null: the runner goes on at once).
 */
export interface Drive {
  /** Create the round's background response and follow it as far as this strategy does in one step. */
  start(deps: DriveDeps, run: RunRecord, request: ResponseRequest, ctx: ActionContext): Promise<ActionResult>;
  /** Follow the run's live response (`cursor`: the last stream event seen, for strategies that stream). */
  follow(
    deps: DriveDeps,
    run: RunRecord,
    responseId: string,
    cursor: number | null,
    ctx: ActionContext,
  ): Promise<ActionResult>;
}
