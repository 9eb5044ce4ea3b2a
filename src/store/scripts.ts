/**
 * Lua scripts for the multi-key and compare-and-set changes that must be atomic. They run through
 * EVALSHA (with EVAL fallback) via `@upstash/redis`'s Script.
 */

/**
 * Claim a run for a step. KEYS[1] run hash. ARGV: seq ("" = whatever it is now), owner, now_ms,
 * lease_ms. → {"ok", doc, cancel, metadata, seq} | {"stale", doc} | {"busy"} | {"missing"}. A step
 * from the future (its seq is ahead: the scheduling step has not finished saving yet) is "busy" too,
 * and waits.
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
return {'ok', redis.call('HGET', KEYS[1], 'doc'), redis.call('HGET', KEYS[1], 'cancel') or '',
  redis.call('HGET', KEYS[1], 'metadata') or '', seq}
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

/** Lua: append ARGV[first], ARGV[first+1], … (id, doc pairs) to a thread's messages. */
const APPEND_MESSAGES = (first: string, thread: string, msgs: string, docs: string, extra: string) => `
local function append_messages(count)
  local ids = {}
  for i = 0, count - 1 do
    local id = ARGV[${first} + 2 * i]
    local seq = redis.call('HINCRBY', ${thread}, 'msg_seq', 1)
    redis.call('ZADD', ${msgs}, seq, id)
    redis.call('HSET', ${docs}, id, ARGV[${first} + 1 + 2 * i])
    ${extra}
    ids[#ids + 1] = id
  end
  return ids
end
`;

/**
 * Create a run. Refuse it when its thread has an active run (`exclusive` mode), when the thread's
 * held messages are not the ones its input was built with, or over a monthly quota; else write it,
 * count it, record its messages (held ones, then new ones, as sent by this run) and queue it. A
 * run whose thread is busy waits in the thread's FIFO; one that gets its thread takes one of the
 * tenant's active-run slots, or waits in the tenant's slot queue (FIFO) when all are taken.
 * Whatever ends first (the thread's active run, a slot holder) hands on: see RELEASE_RUN.
 * KEYS: run, idempotency, thread active, thread queue, thread runs index, tenant, slots, slot queue,
 * usage, thread hash, thread messages, message docs, held messages, sent index.
 * ARGV: run_id, doc, use_idem ("1"/"0"), idem_value, ttl_s, idem_ttl_s, now_ms, model,
 * default max_active_runs, default monthly_runs, default monthly_tokens, usage_ttl_s, slot_stale_ms,
 * mode ("queue"|"exclusive"), expected held ids (space-separated), thread_ttl_s, new message count,
 * the thread's record (written when it has none yet: a new thread; "" = leave it), then (id, doc)
 * pairs.
 * → {"duplicate", idem_value} | {"busy", active_run} | {"held", ids} | {"quota", "runs"|"tokens",
 *   limit} | {"start"} | {"queued"} | {"waiting", "1" when a slot is free but others wait (the
 *   caller must pump), else "0"}
 */
export const CREATE_RUN = `${TENANT_LIMIT}${APPEND_MESSAGES("19", "KEYS[10]", "KEYS[11]", "KEYS[12]", "")}
if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {'duplicate', existing} end
end
local active = redis.call('GET', KEYS[3])
if active and ARGV[14] == 'exclusive' then return {'busy', active} end
local held = {}
if not active then
  held = redis.call('LRANGE', KEYS[13], 0, -1)
  if table.concat(held, ' ') ~= ARGV[15] then return {'held', table.concat(held, ' ')} end
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
if ARGV[18] ~= '' then redis.call('HSETNX', KEYS[10], 'doc', ARGV[18]) end
if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[4], 'EX', tonumber(ARGV[6])) end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'seq', 0)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('EXPIRE', KEYS[5], ttl)
redis.call('HINCRBY', KEYS[9], 'runs', 1)
redis.call('HINCRBY', KEYS[9], 'runs|' .. ARGV[8], 1)
redis.call('EXPIRE', KEYS[9], tonumber(ARGV[12]))
local sent = {}
for _, id in ipairs(held) do sent[#sent + 1] = id end
for _, id in ipairs(append_messages(tonumber(ARGV[17]))) do sent[#sent + 1] = id end
for i, id in ipairs(sent) do redis.call('HSET', KEYS[14], id, ARGV[1] .. ' ' .. (i - 1)) end
redis.call('DEL', KEYS[13])
for i = 10, 14 do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[16])) end
if active then
  redis.call('RPUSH', KEYS[4], ARGV[1])
  redis.call('EXPIRE', KEYS[4], ttl)
  return {'queued'}
end
redis.call('SET', KEYS[3], ARGV[1], 'EX', ttl)
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
 * Add messages to an idle thread; they wait (held) for its next run. KEYS: thread active, thread
 * hash, thread messages, message docs, held messages. ARGV: thread_ttl_s, count, (id, doc) pairs.
 * → {"ok"} | {"busy", active_run} | {"missing"}
 */
export const ADD_MESSAGES = `${APPEND_MESSAGES("3", "KEYS[2]", "KEYS[3]", "KEYS[4]", "redis.call('RPUSH', KEYS[5], id)")}
local active = redis.call('GET', KEYS[1])
if active then return {'busy', active} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
append_messages(tonumber(ARGV[2]))
for i = 2, 5 do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[1])) end
return {'ok'}
`;

/**
 * Delete a message. KEYS: thread messages, message docs, held messages, sent index. ARGV: id.
 * → {"missing"} | {"deleted", sent} where sent is "run_id index" for a message a run carried
 * upstream (so its conversation item can be deleted too), else "".
 */
export const DELETE_MESSAGE = `
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return {'missing'} end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('LREM', KEYS[3], 0, ARGV[1])
local sent = redis.call('HGET', KEYS[4], ARGV[1]) or ''
redis.call('HDEL', KEYS[4], ARGV[1])
return {'deleted', sent}
`;

/**
 * A run ended (or, with run_id "", nothing ended and the caller only pumps): its answer is recorded
 * on its thread (idempotently: the first document wins), it lets go of its slot and its thread — the thread's next run takes the thread and joins the slot queue — its tokens are
 * counted once; then a free slot goes to the head of the slot queue, but only after the caller has
 * published that run's start step: the first call answers {"head", id}, the caller publishes, calls
 * again with expected = id and gets {"handed", id}, and repeats with "" while slots are free.
 * KEYS: slots, slot queue, tenant, [thread active, thread queue, run, usage, thread hash, thread
 * messages, message docs — when run_id ≠ ""].
 * ARGV: run_id, expected, ttl_s, now_ms, slot_stale_ms, default max_active_runs, model,
 * input_tokens, output_tokens, usage_ttl_s, count_usage ("1"/"0"), answer message id (or ""), its doc.
 * → {"done"} | {"head", id} | {"handed", id}
 */
export const RELEASE_RUN = `${TENANT_LIMIT}
local run = ARGV[1]
local ttl = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if run ~= '' then
  if ARGV[12] ~= '' and redis.call('EXISTS', KEYS[8]) == 1 and redis.call('HSETNX', KEYS[10], ARGV[12], ARGV[13]) == 1 then
    redis.call('ZADD', KEYS[9], redis.call('HINCRBY', KEYS[8], 'msg_seq', 1), ARGV[12])
  end
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
 * 503, so the run was never accepted): its messages are taken back (new ones removed, held ones
 * held again) and its count undone; the caller then releases it (RELEASE_RUN without counting) so
 * its thread and slot go on. KEYS: run, idempotency, thread runs index, usage, thread messages,
 * message docs, held messages, sent index. ARGV: run_id, model, new message ids, held message ids
 * (space-separated, in order). → 1 (undone) | 0 (was already gone)
 */
export const ABANDON_RUN = `
redis.call('ZREM', KEYS[3], ARGV[1])
local idem = redis.call('GET', KEYS[2])
if idem and string.find(idem, ARGV[1], 1, true) then redis.call('DEL', KEYS[2]) end
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
for id in string.gmatch(ARGV[3], '%S+') do
  redis.call('ZREM', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
  redis.call('HDEL', KEYS[8], id)
end
for id in string.gmatch(ARGV[4], '%S+') do
  redis.call('RPUSH', KEYS[7], id)
  redis.call('HDEL', KEYS[8], id)
end
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

/**
 * Delete an idle thread and everything under it. KEYS: thread hash, active, queue, runs index,
 * messages, message docs, held, sent, conversation-key mapping (or the thread hash again).
 * ARGV: thread_id. → {"busy", active_run} | {"missing"} | {"deleted", conversation_id or ""}.
 */
export const DELETE_THREAD = `
local active = redis.call('GET', KEYS[2])
if active then return {'busy', active} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local conv = redis.call('HGET', KEYS[1], 'conversation_id') or ''
if KEYS[9] ~= KEYS[1] and redis.call('GET', KEYS[9]) == ARGV[1] then redis.call('DEL', KEYS[9]) end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
return {'deleted', conv}
`;
