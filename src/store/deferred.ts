/**
 * Delayed runs (`run_at`/`delay_s`) before they start: a hash per run with the accepted request and
 * the run as announced (`doc`), and its `state`: `pending` until QStash delivers it at its time,
 * then `started` (the run itself exists from then on), or `cancelled` / `failed` (with `error`).
 */
import { keys } from "./keys";
import { defineScript } from "./lua";
import type { Redis } from "./redis";

/** Write a pending delayed run, honouring an Idempotency-Key. → {"ok"} | {"duplicate", idem_value}. */
const putDeferred = defineScript({
  name: "deferred_put",
  keys: ["deferred", "idempotency"],
  args: ["doc", "ttlS", "useIdem", "idemValue", "idemTtlS"],
  body: `
if useIdem == '1' then
  local existing = redis.call('GET', idempotency)
  if existing then return {'duplicate', existing} end
  redis.call('SET', idempotency, idemValue, 'EX', tonumber(idemTtlS))
end
redis.call('HSET', deferred, 'doc', doc, 'state', 'pending')
redis.call('EXPIRE', deferred, tonumber(ttlS))
return {'ok'}
`,
});

/** Move a delayed run on: `take` (pending or started → started), `cancel` (pending only), `fail`. → {state, doc}. */
const moveDeferred = defineScript({
  name: "deferred_move",
  keys: ["deferred"],
  args: ["op", "failure"],
  body: `
local state = redis.call('HGET', deferred, 'state')
if not state then return {'missing', ''} end
local doc = redis.call('HGET', deferred, 'doc')
if op == 'take' and (state == 'pending' or state == 'started') then
  redis.call('HSET', deferred, 'state', 'started')
  return {'started', doc}
end
if op == 'cancel' and state == 'pending' then
  redis.call('HSET', deferred, 'state', 'cancelled')
  return {'cancelled', doc}
end
if op == 'fail' and state == 'started' then
  redis.call('HSET', deferred, 'state', 'failed', 'error', failure)
  return {'failed', doc}
end
return {state, doc}
`,
});

export type DeferredState = "pending" | "started" | "cancelled" | "failed" | "missing";

export class DeferredStore {
  private readonly redis: Redis;
  private readonly scripts;

  constructor(redis: Redis) {
    this.redis = redis;
    this.scripts = { put: putDeferred.bind<string[]>(redis), move: moveDeferred.bind<string[]>(redis) };
  }

  async put(
    tenant: string,
    runId: string,
    doc: string,
    ttlS: number,
    idem: { key: string; value: string; ttlS: number } | null,
  ): Promise<{ kind: "ok" } | { kind: "duplicate"; runId: string; bodyHash: string }> {
    const [kind, value = ""] = (
      await this.scripts.put.exec({
        keys: {
          deferred: keys.deferredRun(tenant, runId),
          idempotency: idem ? keys.idempotency(tenant, idem.key) : keys.deferredRun(tenant, runId),
        },
        args: {
          doc,
          ttlS,
          useIdem: idem ? "1" : "0",
          idemValue: idem?.value ?? "",
          idemTtlS: idem?.ttlS ?? 1,
        },
      })
    ).map(String);
    if (kind === "duplicate") {
      const [bodyHash = "", id = ""] = value.split("|");
      return { kind, runId: id, bodyHash };
    }
    return { kind: "ok" };
  }

  /** The record and its state (no change). */
  async get(
    tenant: string,
    runId: string,
  ): Promise<{ state: DeferredState; doc: string; error: string | null }> {
    const [state, doc, error] = (await this.redis.hmget(
      keys.deferredRun(tenant, runId),
      "state",
      "doc",
      "error",
    )) as unknown as (string | null)[];
    return { state: (state ?? "missing") as DeferredState, doc: doc ?? "", error: error ?? null };
  }

  async move(
    tenant: string,
    runId: string,
    op: "take" | "cancel" | "fail",
    error = "",
  ): Promise<{ state: DeferredState; doc: string }> {
    const [state = "missing", doc = ""] = (
      await this.scripts.move.exec({
        keys: { deferred: keys.deferredRun(tenant, runId) },
        args: { op, failure: error },
      })
    ).map(String);
    return { state: state as DeferredState, doc };
  }

  /** Withdraw a delayed run that could not be scheduled (and its Idempotency-Key). */
  async drop(tenant: string, runId: string, idemKey: string | null): Promise<void> {
    const doomed = [keys.deferredRun(tenant, runId), ...(idemKey ? [keys.idempotency(tenant, idemKey)] : [])];
    await this.redis.del(...doomed);
  }
}
