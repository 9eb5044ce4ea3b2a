// Recent deliveries, their filters, and long-poll waiters ("tell me when N have arrived").
import type { Delivery } from "./server.ts";

export type DeliveryFilter = { path?: string; since?: number; verified?: boolean };

type Waiter = { filter: DeliveryFilter; min: number; wake: () => void };

export function matches(d: Delivery, f: DeliveryFilter): boolean {
  if (f.path !== undefined && d.path !== f.path) return false;
  if (f.since !== undefined && d.received_at_ms < f.since) return false;
  if (f.verified !== undefined && d.verified !== f.verified) return false;
  return true;
}

export class DeliveryStore {
  private items: Delivery[] = [];
  private waiters = new Set<Waiter>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private limit: number;
  seq = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  add(delivery: Delivery): void {
    this.items.push(delivery);
    if (this.items.length > this.limit) this.items.splice(0, this.items.length - this.limit);
    for (const waiter of [...this.waiters]) {
      if (this.list(waiter.filter).length >= waiter.min) waiter.wake();
    }
  }

  list(filter: DeliveryFilter = {}): Delivery[] {
    return this.items.filter((d) => matches(d, filter));
  }

  clear(): void {
    this.items = [];
  }

  /** Resolves with the matching deliveries once at least `min` match, or when `waitMs` is up. */
  wait(
    filter: DeliveryFilter,
    min: number,
    waitMs: number,
  ): Promise<{ data: Delivery[]; satisfied: boolean }> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.waiters.delete(waiter);
        const data = this.list(filter);
        resolve({ data, satisfied: data.length >= min });
      };
      const waiter: Waiter = { filter, min, wake: finish };
      const timer = setTimeout(finish, Math.max(0, waitMs));
      this.timers.add(timer);
      this.waiters.add(waiter);
      if (this.list(filter).length >= min) finish();
    });
  }

  /** Answers every pending long poll now (used on close). */
  releaseAll(): void {
    for (const waiter of [...this.waiters]) waiter.wake();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
