/**
 * Which threads a key may use. Unscoped keys: every thread of their tenant. A key scoped to
 * assistants: the threads that belong to one of them — a run of the assistant was made on the
 * thread, or a key scoped to it created the thread (the thread hash's `asst:` marks, written by the
 * run script and by createThread). Any other thread answers 403 `thread_not_allowed`.
 *
 * Threads from before the marks existed have none: the first time a scoped key is refused one, it
 * is marked from the assistants of its recent runs (once; a thread with marks is never re-marked).
 */
import { ApiError, notFound } from "../errors";
import type { Principal } from "../security/principal";
import type { ThreadStore } from "../store/records";
import type { RunStore } from "../store/runs";

export interface ThreadAccessDeps {
  threads: Pick<ThreadStore, "belongsTo" | "assistantMarks" | "markAssistants">;
  runs: Pick<RunStore, "list">;
}

/** Runs read to mark a thread from before the marks (its most recent ones). */
const BACKFILL_RUNS = 100;

export const threadNotAllowed = (threadId: string) =>
  new ApiError(403, "thread_not_allowed", `This key may not use thread '${threadId}'.`, {
    param: "thread_id",
  });

/** Whether the thread belongs to one of `scope`'s assistants; null when the thread does not exist. */
export async function threadBelongs(
  deps: ThreadAccessDeps,
  tenant: string,
  threadId: string,
  scope: readonly string[],
): Promise<boolean | null> {
  const belongs = await deps.threads.belongsTo(tenant, threadId, scope);
  if (belongs !== false || (await deps.threads.assistantMarks(tenant, threadId)).length > 0) return belongs;
  const runs = await deps.runs.list(tenant, threadId, { limit: BACKFILL_RUNS, order: "desc" });
  const assistants = [...new Set(runs.data.map((r) => r.assistant_id))];
  if (assistants.length > 0) await deps.threads.markAssistants(tenant, threadId, assistants);
  return assistants.some((id) => scope.includes(id));
}

/** 404 when the thread does not exist, 403 when the key may not use it (only scoped keys pay). */
export async function assertThreadAllowed(
  deps: ThreadAccessDeps,
  principal: Principal,
  threadId: string,
): Promise<void> {
  if (!principal.assistantIds) return;
  const belongs = await threadBelongs(deps, principal.tenant, threadId, principal.assistantIds);
  if (belongs === null) throw notFound("thread", threadId, "thread_id");
  if (!belongs) throw threadNotAllowed(threadId);
}

/**
 * The thread a new run names (by id or conversation key) must be one the key may use; a
 * conversation key that maps to no thread yet starts a new one, and is fine.
 */
export async function assertRunTargetAllowed(
  deps: ThreadAccessDeps & { threads: Pick<ThreadStore, "conversationThread"> },
  principal: Principal,
  target: { kind: "id"; threadId: string } | { kind: "conversation"; key: string } | { kind: "new" },
): Promise<void> {
  const scope = principal.assistantIds;
  if (!scope || target.kind === "new") return;
  const threadId =
    target.kind === "id"
      ? target.threadId
      : await deps.threads.conversationThread(principal.tenant, target.key);
  // An unknown thread id is the intake's 404; an unknown conversation key starts a thread.
  if (threadId && (await threadBelongs(deps, principal.tenant, threadId, scope)) === false)
    throw threadNotAllowed(threadId);
}
