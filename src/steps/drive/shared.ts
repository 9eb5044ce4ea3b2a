/** Pieces the drive strategies share: feeding a response to the engine, creating without streaming. */
import { finalText } from "../../engine/progress";
import { transition } from "../../engine/run";
import type { RunRecord } from "../../engine/types";
import { errorFields, log } from "../../log";
import { isUpstreamTerminal, type ObservedResponse, type ResponseRequest } from "../../engine/upstream-types";
import type { ActionContext } from "./types";
import type { Drive, DriveDeps } from "./types";

/** Feed a response to the engine (with a run's answer, its last `message.delta`: engine/progress.ts). */
export const observed = (
  deps: DriveDeps,
  run: RunRecord,
  response: ObservedResponse,
  cursor: number | null,
) => finalText(transition(run, { type: "response_observed", response, cursor }, deps.now()), deps.now());

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

/** Late webhooks for a response are still recognised this long after its run's deadline. */
const RESPONSE_OWNER_MARGIN_S = 3600;

/**
 * Let OpenAI's webhook receiver recognise this run's response (one Redis read there instead of a
 * QStash message and an OpenAI GET for every response of the project). Best effort: without it, the
 * strategy's own next look finds the end.
 */
async function rememberResponse(deps: DriveDeps, run: RunRecord): Promise<void> {
  const id = run.upstream.response_id;
  if (!id || !deps.responses) return;
  const ttlS = (run.deadline_ms - deps.now()) / 1000 + RESPONSE_OWNER_MARGIN_S;
  await deps.responses
    .remember(id, { tenant: run.tenant, run_id: run.id }, ttlS)
    .catch((err: unknown) =>
      log("warn", "could not remember a response's run", { run_id: run.id, ...errorFields(err) }),
    );
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
      await rememberResponse(deps, next);
      return { run: next, yieldAfterMs: yieldAfter(next, deps.now()) };
    },
    async follow(deps, run, responseId) {
      const next = observed(deps, run, await deps.upstream.getResponse(responseId), null);
      return { run: next, yieldAfterMs: yieldAfter(next, deps.now()) };
    },
  };
}
