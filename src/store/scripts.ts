/**
 * Lua scripts for the multi-key and compare-and-set changes that must be atomic. They run through
 * EVALSHA (with EVAL fallback) via `@upstash/redis`'s Script.
 */

/**
 * Claim a run for a step. KEYS[1] run hash. ARGV: seq ("" = whatever it is now), owner, now_ms,
 * lease_ms. → {"ok", doc, cancel, seq} | {"stale", doc} | {"busy"} | {"missing"}. A step from the
 * future (its seq is ahead: the scheduling step has not finished saving yet) is "busy" too, and waits.
 */
export const CLAIM = `
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then return {'missing'} end
if ARGV[1] ~= '' and tonumber(ARGV[1]) > tonumber(seq) then return {'busy'} end
if ARGV[1] ~= '' and tonumber(ARGV[1]) < tonumber(seq) then
  return {'stale', redis.call('HGET', KEYS[1], 'doc')}
end
local owner = redis.call('HGET', KEYS[1], 'lease')
local until_ms = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if owner and owner ~= ARGV[2] and until_ms > tonumber(ARGV[3]) then return {'busy'} end
redis.call('HSET', KEYS[1], 'lease', ARGV[2], 'lease_until', tonumber(ARGV[3]) + tonumber(ARGV[4]))
return {'ok', redis.call('HGET', KEYS[1], 'doc'), redis.call('HGET', KEYS[1], 'cancel') or '', seq}
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

/**
 * Create a run and queue it on its thread. KEYS: run, idempotency, thread active, thread queue,
 * thread runs index, thread. ARGV: run_id, doc, use_idem ("1"/"0"), idem_value, ttl_s, idem_ttl_s,
 * now_ms, thread_doc (written when the thread has none yet; "" = leave it), thread_ttl_s.
 * → {"duplicate", idem_value} | {"start"} | {"queued"}
 */
export const CREATE_RUN = `
if ARGV[8] ~= '' and redis.call('HSETNX', KEYS[6], 'doc', ARGV[8]) == 1 then
  redis.call('EXPIRE', KEYS[6], tonumber(ARGV[9]))
end
if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {'duplicate', existing} end
  redis.call('SET', KEYS[2], ARGV[4], 'EX', tonumber(ARGV[6]))
end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'seq', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('ZADD', KEYS[5], tonumber(ARGV[7]), ARGV[1])
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[5]))
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'EX', tonumber(ARGV[5])) then return {'start'} end
redis.call('RPUSH', KEYS[4], ARGV[1])
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[5]))
return {'queued'}
`;

/**
 * Hand a thread from a finished run to the next queued run. KEYS: thread active, thread queue.
 * ARGV: run_id, expected_next (the head the caller already published a start step for, or ""),
 * ttl_s. → {"released"} (not held by this run any more) | {"free"} | {"head", id} (publish a start
 * step for id, then call again with it) | {"handed", id}.
 */
export const RELEASE_THREAD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'released'} end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('DEL', KEYS[1])
  return {'free'}
end
if head ~= ARGV[2] then return {'head', head} end
redis.call('LPOP', KEYS[2])
redis.call('SET', KEYS[1], head, 'EX', tonumber(ARGV[3]))
return {'handed', head}
`;

/** Take a queued (not yet started) run out of its thread's queue. KEYS: thread queue. ARGV: run_id. */
export const UNQUEUE_RUN = `return redis.call('LREM', KEYS[1], 0, ARGV[1])`;

/**
 * Undo CREATE_RUN when the run's first step could not be published (the caller gets a 503, so the
 * run was never accepted). Same KEYS; ARGV: run_id, ttl_s. → the run to start instead, or "".
 */
export const ABANDON_RUN = `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local idem = redis.call('GET', KEYS[2])
if idem and string.find(idem, ARGV[1], 1, true) then redis.call('DEL', KEYS[2]) end
redis.call('LREM', KEYS[4], 0, ARGV[1])
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return '' end
local next_id = redis.call('LPOP', KEYS[4])
if next_id then
  redis.call('SET', KEYS[3], next_id, 'EX', tonumber(ARGV[2]))
  return next_id
end
redis.call('DEL', KEYS[3])
return ''
`;
