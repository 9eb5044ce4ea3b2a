/** Pieces the drive strategies share: feeding a response to the engine, creating without streaming. */
import { transition } from "../../engine/run";
import type { RunRecord } from "../../engine/types";
import { isUpstreamTerminal, type ObservedResponse, type ResponseRequest } from "../../engine/upstream-types";
import type { ActionContext } from "./types";
import type { Drive, DriveDeps } from "./types";

export const observed = (
  deps: DriveDeps,
  run: RunRecord,
  response: ObservedResponse,
  cursor: number | null,
) => transition(run, { type: "response_observed", response, cursor }, deps.now());

/** Create a background response (no stream) and save the run: its response id must be durable. */
export async function createInBackground(
  deps: DriveDeps,
  run: RunRecord,
  request: ResponseRequest,
  ctx: ActionContext,
): Promise<RunRecord> {
  const created = await deps.upstream.createResponse(request);
  const next = transition(run, { type: "response_created", response: created }, deps.now());
  await ctx.save(next);
  return next;
}

/**
 * A strategy that looks at the response once per step (after creating it, or with one GET) and then
 * ends the step: `waitMs` says how long until the next look while the response has not ended.
 */
export function onePollPerStep(waitMs: (run: RunRecord, now: number) => number): Drive {
  const yieldAfter = (run: RunRecord, now: number) =>
    isUpstreamTerminal(run.upstream.response_status) ? null : waitMs(run, now);
  return {
    async start(deps, run, request, ctx) {
      const next = await createInBackground(deps, run, request, ctx);
      return { run: next, yieldAfterMs: yieldAfter(next, deps.now()) };
    },
    async follow(deps, run, responseId) {
      const next = observed(deps, run, await deps.upstream.getResponse(responseId), null);
      return { run: next, yieldAfterMs: yieldAfter(next, deps.now()) };
    },
  };
}
