/** The common shape of the drive strategies: how a step follows a run's response (DRIVE_STRATEGY). */
import type { Config } from "../../config";
import type { MessageRecord } from "../../engine/messages";
import type { RunRecord } from "../../engine/types";
import type { StoredThread } from "../../store/records";
import type { StartRun } from "../../store/runs";
import type { StepQueue } from "../../queue/steps";
import type { ResponseRequest } from "../../engine/upstream-types";
import type { ResponseIndex } from "../../store/responses";
import type { Upstream } from "../../upstream/openai";

/** A step's limits while it performs an action: its wall-time budget, and how to save progress. */
export interface ActionContext {
  budgetEnd: number;
  save: (run: RunRecord) => Promise<void>;
  /**
   * The runner's (absent in narrow test contexts, which then take the separate requests): save
   * `run` with the release of its thread and slot in one request (RunStore.releaseSave).
   */
  saveReleasing?: (run: RunRecord, release: Release) => Promise<void>;
  /** Save `run` unless this very record is what the step saved last and the lease covers the action. */
  saveIfChanged?: (run: RunRecord) => Promise<void>;
  /** What a run's start reads ahead for the actions that follow it (see StartAhead). */
  start?: StartAhead;
  /** The tenant's signing secrets as the step's claim read them (else a read of their own). */
  secrets?: () => Promise<string[]>;
}

/** What a run's end releases with its save: its answer for the thread, and who starts the next run. */
export interface Release {
  answer: MessageRecord | null;
  startNext: StartRun;
}

/**
 * A run's start (`take_held`) reads in the same request what the actions right after it need — the
 * tenant's token quota (`check_quota`), the thread (`create_conversation`) — and extends the step's
 * lease for them. Those actions use it once; any other action in between drops it (it may change
 * what was read).
 */
export interface StartAhead {
  /** The step's lease: its holder, and how far a start extends it from now (ms). */
  owner: string;
  leaseMs: number;
  leaseExtended: (untilMs: number) => void;
  tokenQuota?: number | null;
  thread?: StoredThread | null;
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
