/** The function-calling part of the state machine: tool rounds, endpoint results, caller outputs. */
import { capToolOutput } from "./bounds";
import { queueEvent } from "./events";
import type { PendingCall, RunRecord, RunStep, ToolEndpoint, Usage } from "./types";
import type { ObservedResponse } from "./upstream-types";

/** Attempts per endpoint call before the model gets an error output (or the run fails). */
const TOOL_MAX_ATTEMPTS = 3;
const TOOL_RETRY_MS = [500, 2000];

export type ToolResult =
  | { call_id: string; ok: true; output: string }
  | { call_id: string; ok: false; error: string };

/** The id of the run's next step (a live stream announces an answer's step under it before it exists). */
export const nextStepId = (run: RunRecord) => `step_${run.id.replace(/^run_/, "")}_${run.steps.length + 1}`;

function endpointOf(run: RunRecord, name: string): ToolEndpoint | null {
  for (const t of run.params.tools)
    if (t.type === "function" && t.function.name === name) return t.endpoint ?? null;
  return null;
}

/** A response asked for function calls: start a tool round (or stop when over the bound). */
export function startToolRound(
  run: RunRecord,
  response: ObservedResponse,
  now: number,
): { run: RunRecord; overBound: boolean } {
  const calls: PendingCall[] = response.tool_calls.map((c) => ({
    ...c,
    endpoint: endpointOf(run, c.name),
    output: null,
    attempts: 0,
    retry_at_ms: null,
    last_error: null,
  }));
  const step: RunStep = {
    id: nextStepId(run),
    type: "tool_calls",
    status: "in_progress",
    created_at_ms: now,
    completed_at_ms: null,
    tool_calls: calls.map((c) => ({ id: c.call_id, name: c.name, arguments: c.arguments, output: null })),
    usage: stepUsage(response),
  };
  const next = {
    ...run,
    tool_rounds: run.tool_rounds + 1,
    pending_calls: calls,
    steps: [...run.steps, step],
  };
  return { run: next, overBound: next.tool_rounds > run.params.max_tool_rounds };
}

export const callerCallsOpen = (run: RunRecord) =>
  run.pending_calls.some((c) => c.endpoint === null && c.output === null);
export const endpointCallsOpen = (run: RunRecord) =>
  run.pending_calls.some((c) => c.endpoint !== null && c.output === null);
export const allAnswered = (run: RunRecord) =>
  run.pending_calls.length > 0 && run.pending_calls.every((c) => c.output !== null);

/** When endpoint calls are done and caller calls remain, the run asks the caller. */
export function maybeRequireAction(
  run: RunRecord,
  now: number,
  setStatus: (r: RunRecord) => RunRecord,
): RunRecord {
  if (run.status === "requires_action" || endpointCallsOpen(run) || !callerCallsOpen(run)) return run;
  const waiting = setStatus({
    ...run,
    action_deadline_ms: now + run.params.requires_action_timeout_s * 1000,
  });
  return queueEvent(waiting, "run.requires_action", now);
}

export function applyToolResults(
  run: RunRecord,
  results: ToolResult[],
  now: number,
): { run: RunRecord; fatal: string | null } {
  let fatal: string | null = null;
  const pending = run.pending_calls.map((c) => {
    const r = results.find((x) => x.call_id === c.call_id);
    if (!r || c.output !== null) return c;
    if (r.ok)
      return {
        ...c,
        output: capToolOutput(r.output),
        attempts: c.attempts + 1,
        retry_at_ms: null,
        last_error: null,
      };
    const attempts = c.attempts + 1;
    if (attempts < TOOL_MAX_ATTEMPTS) {
      return {
        ...c,
        attempts,
        last_error: r.error,
        retry_at_ms: now + (TOOL_RETRY_MS[attempts - 1] ?? 2000),
      };
    }
    if (run.params.tool_errors === "fail") fatal = `tool '${c.name}' failed: ${r.error}`;
    return {
      ...c,
      attempts,
      last_error: r.error,
      retry_at_ms: null,
      output: capToolOutput(JSON.stringify({ error: r.error })),
    };
  });
  return { run: withStepOutputs({ ...run, pending_calls: pending }, now), fatal };
}

export function applyCallerOutputs(
  run: RunRecord,
  outputs: { tool_call_id: string; output: string }[],
  now: number,
): RunRecord {
  const byId = new Map(outputs.map((o) => [o.tool_call_id, o.output]));
  const pending = run.pending_calls.map((c) =>
    c.output === null && byId.has(c.call_id) ? { ...c, output: capToolOutput(byId.get(c.call_id) ?? "") } : c,
  );
  return withStepOutputs({ ...run, pending_calls: pending, action_deadline_ms: null }, now);
}

/** Check submitted outputs against the open caller calls: every one answered, nothing unknown. */
export function checkCallerOutputs(run: RunRecord, outputs: { tool_call_id: string }[]): string | null {
  const open = new Set(
    run.pending_calls.filter((c) => c.endpoint === null && c.output === null).map((c) => c.call_id),
  );
  const given = outputs.map((o) => o.tool_call_id);
  const unknown = given.filter((id) => !open.has(id));
  if (unknown.length > 0)
    return `Unknown tool_call_id: ${unknown.join(", ")}. Open calls: ${[...open].join(", ")}.`;
  if (new Set(given).size !== given.length) return "Each tool_call_id may be answered once.";
  const missing = [...open].filter((id) => !given.includes(id));
  if (missing.length > 0)
    return `Missing tool outputs for: ${missing.join(", ")}. All open calls must be answered together.`;
  return null;
}

/**
 * A step whose every call is answered is complete (as the original's). The outputs themselves stay
 * in the round (`pending_calls`) only, stored once, until the round closes (closeRound).
 */
function withStepOutputs(run: RunRecord, now: number): RunRecord {
  const outputs = new Map(run.pending_calls.map((c) => [c.call_id, c.output]));
  const steps = run.steps.map((s, i) => {
    if (i !== run.steps.length - 1 || s.type !== "tool_calls") return s;
    const answered =
      s.status === "in_progress" &&
      (s.tool_calls ?? []).every((t) => (outputs.get(t.id) ?? t.output) !== null);
    return answered ? { ...s, status: "completed" as const, completed_at_ms: now } : s;
  });
  return { ...run, steps };
}

/** A tool_calls step's calls with their outputs: the step's own, or the open round's. */
export function stepCalls(run: RunRecord, step: RunStep): NonNullable<RunStep["tool_calls"]> {
  const live = new Map(run.pending_calls.map((c) => [c.call_id, c.output]));
  return (step.tool_calls ?? []).map((t) =>
    t.output === null ? { ...t, output: live.get(t.id) ?? null } : t,
  );
}

/** The new response of a tool round was created: the round's step is complete (if it was not yet). */
export function closeRound(run: RunRecord, now: number): RunRecord {
  const steps = run.steps.map((s, i) => {
    // The round's outputs move onto its step (the one place they are kept from now on).
    const withOutputs =
      i === run.steps.length - 1 && s.type === "tool_calls" ? { ...s, tool_calls: stepCalls(run, s) } : s;
    return withOutputs.type === "tool_calls" && withOutputs.status === "in_progress"
      ? { ...withOutputs, status: "completed" as const, completed_at_ms: now }
      : withOutputs;
  });
  return { ...run, pending_calls: [], steps };
}

/** A run ended: open steps end with it. */
export function endSteps(run: RunRecord, status: RunStep["status"], now: number): RunRecord {
  const steps = run.steps.map((s) =>
    s.status === "in_progress" ? { ...s, status, completed_at_ms: now } : s,
  );
  return { ...run, steps };
}

export function messageStep(run: RunRecord, response: ObservedResponse, now: number): RunRecord {
  if (!response.message_id) return run;
  const step: RunStep = {
    id: nextStepId(run),
    type: "message_creation",
    status: "completed",
    created_at_ms: now,
    completed_at_ms: now,
    message_id: response.message_id,
    usage: stepUsage(response),
  };
  return { ...run, steps: [...run.steps, step] };
}

/** A step's tokens: those of the response that made it (each response makes one step). */
function stepUsage(response: ObservedResponse): Usage | null {
  const u = response.usage;
  return u
    ? { prompt_tokens: u.input_tokens, completion_tokens: u.output_tokens, total_tokens: u.total_tokens }
    : null;
}
