/**
 * Lua scripts for the multi-key and compare-and-set changes that must be atomic. They run through
 * EVALSHA (with EVAL fallback) via `@upstash/redis`'s Script.
 */

/**
 * Claim a run for a step. KEYS[1] run hash. ARGV: seq, owner, now_ms, lease_ms.
 * → {"ok", doc, cancel, metadata} | {"stale", doc} | {"busy"} | {"missing"}. A step from the future (its
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
return {'ok', redis.call('HGET', KEYS[1], 'doc'), redis.call('HGET', KEYS[1], 'cancel') or '',
  redis.call('HGET', KEYS[1], 'metadata') or ''}
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
 * Create a run on its thread. KEYS: run, idempotency, thread active, thread queue, thread runs
 * index, thread hash, thread messages, message docs, held messages, sent index.
 * ARGV: run_id, doc, use_idem ("1"/"0"), idem_value, ttl_s, idem_ttl_s, now_ms, mode
 * ("queue": wait behind an active run; "exclusive": refuse), expected held ids (space-separated, as
 * read before building the run's input), thread_ttl_s, new message count, then (id, doc) pairs.
 * → {"duplicate", idem_value} | {"busy", active_run} | {"held", ids} (held messages differ: rebuild
 * the input and call again) | {"start"} | {"queued"}. A run that starts takes the held messages;
 * held and new messages are recorded as sent by this run, in input order.
 */
export const CREATE_RUN = `${APPEND_MESSAGES("12", "KEYS[6]", "KEYS[7]", "KEYS[8]", "")}
if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {'duplicate', existing} end
end
local active = redis.call('GET', KEYS[3])
if active and ARGV[8] == 'exclusive' then return {'busy', active} end
local held = {}
if not active then
  held = redis.call('LRANGE', KEYS[9], 0, -1)
  if table.concat(held, ' ') ~= ARGV[9] then return {'held', table.concat(held, ' ')} end
end
if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[4], 'EX', tonumber(ARGV[6])) end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'seq', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('ZADD', KEYS[5], tonumber(ARGV[7]), ARGV[1])
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[5]))
local sent = {}
for _, id in ipairs(held) do sent[#sent + 1] = id end
for _, id in ipairs(append_messages(tonumber(ARGV[11]))) do sent[#sent + 1] = id end
for i, id in ipairs(sent) do redis.call('HSET', KEYS[10], id, ARGV[1] .. ' ' .. (i - 1)) end
redis.call('DEL', KEYS[9])
for i = 6, 10 do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[10])) end
if not active then
  redis.call('SET', KEYS[3], ARGV[1], 'EX', tonumber(ARGV[5]))
  return {'start'}
end
redis.call('RPUSH', KEYS[4], ARGV[1])
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[5]))
return {'queued'}
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
 * Record a finished run's answer and hand its thread to the next queued run. KEYS: thread active,
 * thread queue, thread hash, thread messages, message docs. ARGV: run_id, expected_next (the head
 * the caller already published a start step for, or ""), ttl_s, answer message id (or ""), its doc.
 * → {"released"} (not held by this run any more) | {"free"} | {"head", id} (publish a start step
 * for id, then call again with it) | {"handed", id}. Recording is idempotent (first doc wins).
 */
export const RELEASE_THREAD = `
if ARGV[4] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 and redis.call('HSETNX', KEYS[5], ARGV[4], ARGV[5]) == 1 then
  redis.call('ZADD', KEYS[4], redis.call('HINCRBY', KEYS[3], 'msg_seq', 1), ARGV[4])
end
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
 * run was never accepted). Same KEYS; ARGV: run_id, ttl_s, ids of the messages the run recorded
 * (space-separated), ids of the held messages it took (space-separated, in order).
 * → the run to start instead, or "".
 */
export const ABANDON_RUN = `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local idem = redis.call('GET', KEYS[2])
if idem and string.find(idem, ARGV[1], 1, true) then redis.call('DEL', KEYS[2]) end
redis.call('LREM', KEYS[4], 0, ARGV[1])
for id in string.gmatch(ARGV[3], '%S+') do
  redis.call('ZREM', KEYS[7], id)
  redis.call('HDEL', KEYS[8], id)
  redis.call('HDEL', KEYS[10], id)
end
for id in string.gmatch(ARGV[4], '%S+') do
  redis.call('RPUSH', KEYS[9], id)
  redis.call('HDEL', KEYS[10], id)
end
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return '' end
local next_id = redis.call('LPOP', KEYS[4])
if next_id then
  redis.call('SET', KEYS[3], next_id, 'EX', tonumber(ARGV[2]))
  return next_id
end
redis.call('DEL', KEYS[3])
return ''
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
