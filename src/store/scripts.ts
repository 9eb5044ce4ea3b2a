/**
 * Lua scripts for the multi-key and compare-and-set changes that must be atomic. They run through
 * EVALSHA (with EVAL fallback) via `@upstash/redis`'s Script.
 */

/**
 * Claim a run for a step. KEYS[1] run hash. ARGV: seq, owner, now_ms, lease_ms.
 * → {"ok", doc, cancel} | {"stale", doc} | {"busy"} | {"missing"}. A step from the future (its
 * seq is ahead: the scheduling step has not finished saving yet) is "busy" too, and waits.
 */
export const CLAIM = `
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then return {'missing'} end
if tonumber(ARGV[1]) > tonumber(seq) then return {'busy'} end
if tonumber(ARGV[1]) < tonumber(seq) then return {'stale', redis.call('HGET', KEYS[1], 'doc')} end
local owner = redis.call('HGET', KEYS[1], 'lease')
local until_ms = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if owner and owner ~= ARGV[2] and until_ms > tonumber(ARGV[3]) then return {'busy'} end
redis.call('HSET', KEYS[1], 'lease', ARGV[2], 'lease_until', tonumber(ARGV[3]) + tonumber(ARGV[4]))
return {'ok', redis.call('HGET', KEYS[1], 'doc'), redis.call('HGET', KEYS[1], 'cancel') or ''}
`;

/**
 * Save a claimed run. KEYS[1] run hash. ARGV: owner, doc, finish ("1" bumps seq and drops the
 * lease), ttl_s. → new seq, or -1 when the lease was lost.
 */
export const SAVE = `
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if ARGV[3] == '1' then
  redis.call('HDEL', KEYS[1], 'lease', 'lease_until')
  return redis.call('HINCRBY', KEYS[1], 'seq', 1)
end
return tonumber(redis.call('HGET', KEYS[1], 'seq'))
`;

/** Drop a lease without saving. KEYS[1] run hash. ARGV: owner. */
export const UNLOCK = `
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'lease', 'lease_until')
return 1
`;

/** A tenant limit: its own value (a plain field of the tenant hash) or the configured default. */
const TENANT_LIMIT = `
local function tenant_limit(key, field, default)
  local v = redis.call('HGET', key, field)
  if v and v ~= '' then return tonumber(v) end
  return tonumber(default)
end
`;

/**
 * Create a run: refuse it over a monthly quota, else write it, count it, and queue it. A run whose
 * thread is busy waits in the thread's FIFO; one that gets its thread takes one of the tenant's
 * active-run slots, or waits in the tenant's slot queue (FIFO) when all are taken. Whatever ends
 * first (the thread's active run, a slot holder) hands on: see RELEASE_RUN.
 * KEYS: run, idempotency, thread active, thread queue, thread runs index, tenant, slots, slot queue,
 * usage. ARGV: run_id, doc, use_idem ("1"/"0"), idem_value, ttl_s, idem_ttl_s, now_ms, model,
 * default max_active_runs, default monthly_runs, default monthly_tokens, usage_ttl_s, slot_stale_ms.
 * → {"duplicate", idem_value} | {"quota", "runs"|"tokens", limit} | {"start"} | {"queued"} |
 *   {"waiting", "1" when a slot is free but others wait (the caller must pump), else "0"}
 */
export const CREATE_RUN = `${TENANT_LIMIT}
if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {'duplicate', existing} end
end
local run_quota = tenant_limit(KEYS[6], 'monthly_runs', ARGV[10])
if run_quota > 0 and tonumber(redis.call('HGET', KEYS[9], 'runs') or '0') >= run_quota then
  return {'quota', 'runs', tostring(run_quota)}
end
local token_quota = tenant_limit(KEYS[6], 'monthly_tokens', ARGV[11])
if token_quota > 0 then
  local used = tonumber(redis.call('HGET', KEYS[9], 'input_tokens') or '0')
    + tonumber(redis.call('HGET', KEYS[9], 'output_tokens') or '0')
  if used >= token_quota then return {'quota', 'tokens', tostring(token_quota)} end
end
local ttl = tonumber(ARGV[5])
local now = tonumber(ARGV[7])
if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[4], 'EX', tonumber(ARGV[6])) end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'seq', 0)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('EXPIRE', KEYS[5], ttl)
redis.call('HINCRBY', KEYS[9], 'runs', 1)
redis.call('HINCRBY', KEYS[9], 'runs|' .. ARGV[8], 1)
redis.call('EXPIRE', KEYS[9], tonumber(ARGV[12]))
if not redis.call('SET', KEYS[3], ARGV[1], 'NX', 'EX', ttl) then
  redis.call('RPUSH', KEYS[4], ARGV[1])
  redis.call('EXPIRE', KEYS[4], ttl)
  return {'queued'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - tonumber(ARGV[13]))
local free = redis.call('ZCARD', KEYS[7]) < tenant_limit(KEYS[6], 'max_active_runs', ARGV[9])
if free and redis.call('LLEN', KEYS[8]) == 0 then
  redis.call('ZADD', KEYS[7], now, ARGV[1])
  redis.call('EXPIRE', KEYS[7], ttl)
  return {'start'}
end
redis.call('RPUSH', KEYS[8], ARGV[1])
redis.call('EXPIRE', KEYS[8], ttl)
if free then return {'waiting', '1'} end
return {'waiting', '0'}
`;

/**
 * A run ended (or, with run_id "", nothing ended and the caller only pumps): it lets go of its slot
 * and its thread — the thread's next run takes the thread and joins the slot queue — its tokens are
 * counted once; then a free slot goes to the head of the slot queue, but only after the caller has
 * published that run's start step: the first call answers {"head", id}, the caller publishes, calls
 * again with expected = id and gets {"handed", id}, and repeats with "" while slots are free.
 * KEYS: slots, slot queue, tenant, [thread active, thread queue, run, usage — when run_id ≠ ""].
 * ARGV: run_id, expected, ttl_s, now_ms, slot_stale_ms, default max_active_runs, model,
 * input_tokens, output_tokens, usage_ttl_s, count_usage ("1"/"0").
 * → {"done"} | {"head", id} | {"handed", id}
 */
export const RELEASE_RUN = `${TENANT_LIMIT}
local run = ARGV[1]
local ttl = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if run ~= '' then
  if ARGV[11] == '1' and redis.call('HSETNX', KEYS[6], 'usage_counted', '1') == 1 then
    redis.call('HINCRBY', KEYS[7], 'input_tokens', tonumber(ARGV[8]))
    redis.call('HINCRBY', KEYS[7], 'output_tokens', tonumber(ARGV[9]))
    redis.call('HINCRBY', KEYS[7], 'input_tokens|' .. ARGV[7], tonumber(ARGV[8]))
    redis.call('HINCRBY', KEYS[7], 'output_tokens|' .. ARGV[7], tonumber(ARGV[9]))
    redis.call('EXPIRE', KEYS[7], tonumber(ARGV[10]))
  end
  redis.call('ZREM', KEYS[1], run)
  redis.call('LREM', KEYS[2], 0, run)
  if redis.call('GET', KEYS[4]) == run then
    local next_id = redis.call('LPOP', KEYS[5])
    if next_id then
      redis.call('SET', KEYS[4], next_id, 'EX', ttl)
      redis.call('RPUSH', KEYS[2], next_id)
      redis.call('EXPIRE', KEYS[2], ttl)
    else
      redis.call('DEL', KEYS[4])
    end
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[5]))
if redis.call('ZCARD', KEYS[1]) >= tenant_limit(KEYS[3], 'max_active_runs', ARGV[6]) then return {'done'} end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then return {'done'} end
if head ~= ARGV[2] then return {'head', head} end
redis.call('LPOP', KEYS[2])
redis.call('ZADD', KEYS[1], now, head)
redis.call('EXPIRE', KEYS[1], ttl)
return {'handed', head}
`;

/** Take a queued (not yet started) run out of its thread's queue. KEYS: thread queue. ARGV: run_id. */
export const UNQUEUE_RUN = `return redis.call('LREM', KEYS[1], 0, ARGV[1])`;

/**
 * Undo CREATE_RUN's record when the run's first step could not be published (the caller gets a
 * 503, so the run was never accepted); the caller then releases it (RELEASE_RUN without counting)
 * so its thread and slot go on. KEYS: run, idempotency, thread runs index, usage. ARGV: run_id,
 * model. → 1 (uncounted) | 0 (was already gone)
 */
export const ABANDON_RUN = `
redis.call('ZREM', KEYS[3], ARGV[1])
local idem = redis.call('GET', KEYS[2])
if idem and string.find(idem, ARGV[1], 1, true) then redis.call('DEL', KEYS[2]) end
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[4], 'runs', -1)
redis.call('HINCRBY', KEYS[4], 'runs|' .. ARGV[2], -1)
return 1
`;

/**
 * Create a tenant unless it exists. KEYS: tenant hash, tenant index. ARGV: id, created_ms, then
 * field/value pairs of the hash. → 1 created | 0 exists.
 */
export const CREATE_TENANT = `
if redis.call('HEXISTS', KEYS[1], 'doc') == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[1])
return 1
`;
