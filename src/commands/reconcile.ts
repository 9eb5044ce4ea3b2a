/**
 * The reconciler (a QStash schedule calls `/internal/steps/reconcile`, e.g. every minute): finds
 * active runs that no step is driving — a Worker died between writing a run and publishing its
 * step, a step died after publishing nothing, a publish was lost — and publishes a step for each at
 * its current seq. Slots whose run is gone are freed, and free slots are handed to the runs waiting
 * for one (also those a release could not hand on: its start publish failed). Cancels the intake owed and did
 * not settle (a Worker died after the intake script superseded queued runs or interrupted the active
 * one, `on_busy` latest / interrupt) get their flag and a step, which ends the run `cancelled` and
 * delivers its callback. Idempotent (a step at the
 * current seq is fenced like any other: a duplicate is stale or waits; QStash deduplicates the
 * publish per run and seq) and bounded per call: RECONCILE_TENANTS tenants, RECONCILE_RUNS runs.
 * Each tenant's active slots are looked at a page at a time from a cursor kept in Redis
 * (keys.ts `reconcileSlotCursor`), so successive calls walk all of them: runs that stay healthy for
 * long (and hold the oldest slots) cannot hide a newer stuck one. A run stuck since before a walk
 * started is found within two walks: ⌈active slots / RECONCILE_RUNS⌉ calls each, fewer when other
 * tenants use part of a call's RECONCILE_RUNS. Redis requests per call: at most 3 for the page of
 * tenants, and per tenant at most 3 for the look at its slots (the page script, which also moves
 * the cursor, the runs' fields, the freeing), 1 for owed cancels and 1 for the pump: 53 with 10
 * tenants at worst, 43 when no slot is freed, plus 2 per owed cancel and 1 per hand-off, and a
 * QStash publish per step (bounded by RECONCILE_RUNS); the walk adds none.
 */
import type { Config } from "../config";
import { DEFAULT_TENANT } from "../security/principal";
import type { StepQueue } from "../queue/steps";
import type { RunStore } from "../store/runs";
import type { TenantStore } from "../store/tenants";
import { log } from "../log";

/** Tenants looked at per call (the default tenant, then a page of the index). */
export const RECONCILE_TENANTS = 10;
/** Steps published per call, all tenants together. */
export const RECONCILE_RUNS = 20;

export interface ReconcileDeps {
  runs: Pick<RunStore, "stranded" | "pump" | "owedCancels" | "applyOwedCancel" | "settleOwedCancel">;
  tenants: Pick<TenantStore, "nextPage">;
  queue: Pick<StepQueue, "publish">;
  config: Pick<Config, "reconcileGraceMs">;
  now: () => number;
}

export interface ReconcileReport {
  tenants: number;
  published: { tenant: string; run_id: string; seq: number }[];
  freed: number;
  /** Owed cancels settled (runs now flagged to end, each with a step). */
  cancelled: { tenant: string; run_id: string }[];
  /** Runs waiting for a slot while one was free, handed it and started. */
  started: { tenant: string; run_id: string }[];
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const now = deps.now();
  const before = now - deps.config.reconcileGraceMs;
  const page = await deps.tenants.nextPage(RECONCILE_TENANTS - 1);
  const tenants = [DEFAULT_TENANT, ...page.filter((t) => t !== DEFAULT_TENANT)];
  const report: ReconcileReport = {
    tenants: tenants.length,
    published: [],
    freed: 0,
    cancelled: [],
    started: [],
  };
  for (const tenant of tenants) {
    const room = RECONCILE_RUNS - report.published.length;
    if (room <= 0) break;
    const found = await deps.runs.stranded(tenant, before, now, room);
    for (const { run_id, seq } of found.runs) {
      await deps.queue.publish({ tenant, run_id, seq }, { delayMs: 0, reason: "reconcile" });
      report.published.push({ tenant, run_id, seq });
    }
    for (const owed of await deps.runs.owedCancels(tenant, before, RECONCILE_RUNS)) {
      // Flag first, then the step, then the entry goes: a crash in between repeats it next time.
      const seq = await deps.runs.applyOwedCancel(tenant, owed.runId, owed.flag);
      if (seq !== null)
        await deps.queue.publish({ tenant, run_id: owed.runId, seq }, { delayMs: 0, reason: "reconcile" });
      await deps.runs.settleOwedCancel(tenant, owed.entry);
      if (seq !== null) report.cancelled.push({ tenant, run_id: owed.runId });
    }
    report.freed += found.freed;
    // A free slot goes to the next run waiting for one: a freed slot, and any other free slot a
    // release could not hand on (its start publish failed and nothing retried it: a withdrawn
    // run's release at intake, a releasing step QStash gave up on). One Redis request when none is.
    await deps.runs.pump(tenant, async (id) => {
      await deps.queue.publish({ tenant, run_id: id, seq: 0 }, { delayMs: 0, reason: "start" });
      report.started.push({ tenant, run_id: id });
    });
  }
  if (
    report.published.length > 0 ||
    report.freed > 0 ||
    report.cancelled.length > 0 ||
    report.started.length > 0
  )
    log("warn", "reconciler restarted runs no step was driving", {
      runs: report.published.map((p) => p.run_id),
      freed_slots: report.freed,
      cancelled: report.cancelled.map((p) => p.run_id),
      started: report.started.map((p) => p.run_id),
    });
  return report;
}
