/**
 * Lua scripts for the multi-key and compare-and-set changes that must be atomic. Each one declares
 * its KEYS and ARGV by name (see lua.ts): the generated prologue binds those names, and a call
 * passes them as objects typed from the same lists. Every script names all the keys it touches,
 * so each carries Upstash's `allow-key-locking` flag (lua.ts, KEY_LOCKING_SHEBANG) and locks only
 * its own keys. Hash field names are the ones of keys.ts (RUN_FIELDS, TENANT_FIELDS) and of
 * engine/usage.ts (USAGE_FIELDS), written literally.
 */
import { defineScript } from "./lua";
import { APPEND_EVENTS } from "./outbox-lua";

/** A tenant limit: its own value (a plain field of the tenant hash) or the configured default. */
const TENANT_LIMIT = `
local function tenantLimit(key, field, default)
  local v = redis.call('HGET', key, field)
  if v and v ~= '' then return tonumber(v) end
  return tonumber(default)
end
`;

/**
 * Append (id, doc) pairs to a thread's messages, in order (and to its held list when `heldKey` is
 * given); returns the ids.
 */
const APPEND_MESSAGES = `
local function appendMessages(pairs_, threadKey, messagesKey, docsKey, heldKey)
  local ids = {}
  for i = 1, #pairs_ - 1, 2 do
    local id = pairs_[i]
    local seq = redis.call('HINCRBY', threadKey, 'msg_seq', 1)
    redis.call('ZADD', messagesKey, seq, id)
    redis.call('HSET', docsKey, id, pairs_[i + 1])
    if heldKey then redis.call('RPUSH', heldKey, id) end
    ids[#ids + 1] = id
  end
  return ids
end
`;

/** Pairs (message id, index) the `sent` hash gives `runId` ("run_id index" values), by index. */
const SENT_BY_RUN = `
local function sentByRun(sent, runId)
  local all = redis.call('HGETALL', sent)
  local prefix = runId .. ' '
  local mine = {}
  for i = 1, #all, 2 do
    local v = all[i + 1]
    if string.sub(v, 1, #prefix) == prefix then
      mine[#mine + 1] = {all[i], tonumber(string.sub(v, #prefix + 1))}
    end
  end
  table.sort(mine, function(a, b) return a[2] < b[2] end)
  return mine
end
`;

/**
 * Put `ids` on a thread's held list (for its next run to take), the list kept in thread order (each
 * message's score in threadMessages), and no longer marked as sent.
 */
const HOLD_SORTED = `
local function holdSorted(held, threadMessages, sent, ids, ttlS)
  if #ids == 0 then return end
  local all = {}
  for _, id in ipairs(redis.call('LRANGE', held, 0, -1)) do all[#all + 1] = id end
  for _, id in ipairs(ids) do
    redis.call('HDEL', sent, id)
    all[#all + 1] = id
  end
  local order = {}
  for i, id in ipairs(all) do
    order[id] = {tonumber(redis.call('ZSCORE', threadMessages, id) or '') or math.huge, i}
  end
  table.sort(all, function(a, b)
    if order[a][1] ~= order[b][1] then return order[a][1] < order[b][1] end
    return order[a][2] < order[b][2]
  end)
  redis.call('DEL', held)
  redis.call('RPUSH', held, unpack(all))
  redis.call('EXPIRE', held, ttlS)
end
`;

/**
 * Hand a free active-run slot of a tenant to the head of its slot queue, but only once the caller
 * has published that run's start step: with `expected` ≠ the head the answer is {"head", id} and
 * nothing changes; with `expected` = the head it is {"handed", id}. {"done"}: no free slot or no
 * one waiting. Slots older than `staleMs` are freed first.
 */
const HAND_OUT = `
local function handOut(slotsKey, slotQueueKey, tenantKey, expectedId, ttlS, nowMs, staleMs, defaultMax)
  redis.call('ZREMRANGEBYSCORE', slotsKey, '-inf', nowMs - staleMs)
  if redis.call('ZCARD', slotsKey) >= tenantLimit(tenantKey, 'max_active_runs', defaultMax) then
    return {'done'}
  end
  local head = redis.call('LINDEX', slotQueueKey, 0)
  if not head then return {'done'} end
  if head ~= expectedId then return {'head', head} end
  redis.call('LPOP', slotQueueKey)
  redis.call('ZADD', slotsKey, nowMs, head)
  redis.call('EXPIRE', slotsKey, ttlS)
  return {'handed', head}
end
`;

/**
 * `runId` lets go of its active-run slot (or its place in the slot queue) and of its thread, if it
 * holds it: the thread's next queued run takes the thread and joins the slot queue.
 */
const LET_GO = `
local function letGo(slotsKey, slotQueueKey, threadActiveKey, threadQueueKey, runId, ttl)
  redis.call('ZREM', slotsKey, runId)
  redis.call('LREM', slotQueueKey, 0, runId)
  if redis.call('GET', threadActiveKey) == runId then
    local nextId = redis.call('LPOP', threadQueueKey)
    if nextId then
      redis.call('SET', threadActiveKey, nextId, 'EX', ttl)
      redis.call('RPUSH', slotQueueKey, nextId)
      redis.call('EXPIRE', slotQueueKey, ttl)
    else
      redis.call('DEL', threadActiveKey)
    end
  end
end
`;

/**
 * Claim a run for a step. `seq` "" = whatever it is now. → {"ok", doc, cancel, metadata, seq,
 * secrets} | {"stale", doc} | {"busy", ms the lease still holds or ""} | {"missing"}. A step from the
 * future (its seq is ahead: the scheduling step has not finished saving yet) is "busy" too, and
 * waits. A claim proves the run's step reached QStash: the `publishing` flag goes and `claimed` stays
 * (what a withdrawal checks: the flag is set only where an idempotent replay reads it). `secrets` are the
 * tenant's stored webhook secrets (JSON, "" none): what a step that delivers signs with, read here
 * so that delivering costs no request of its own.
 */
export const claimRun = defineScript({
  name: "claim",
  keys: ["run", "tenant"],
  args: ["seq", "owner", "now", "leaseMs"],
  body: `
local current = redis.call('HGET', run, 'seq')
if not current then return {'missing'} end
if seq ~= '' and tonumber(seq) > tonumber(current) then return {'busy', ''} end
if seq ~= '' and tonumber(seq) < tonumber(current) then
  return {'stale', redis.call('HGET', run, 'doc')}
end
local holder = redis.call('HGET', run, 'lease')
local untilMs = tonumber(redis.call('HGET', run, 'lease_until') or '0')
if holder and holder ~= owner and untilMs > tonumber(now) then
  return {'busy', tostring(untilMs - tonumber(now))}
end
redis.call('HSET', run, 'lease', owner, 'lease_until', tonumber(now) + tonumber(leaseMs), 'claimed', '1')
redis.call('HDEL', run, 'publishing')
return {'ok', redis.call('HGET', run, 'doc'), redis.call('HGET', run, 'cancel') or '',
  redis.call('HGET', run, 'metadata') or '', current, redis.call('HGET', tenant, 'secrets') or ''}
`,
});

/**
 * The write of a save under the lease (saveRun, releaseSaveRun; the caller has checked the lease):
 * the document, `saved_at`, the lease extended to `leaseUntil` when `extend` (never shortened), the
 * TTL, and the run's new events appended to its feed and outbox. → kick (1: publish a deliver step).
 */
const SAVE_DOC = `
local function saveDoc(extend)
  redis.call('HSET', run, 'doc', doc)
  if savedAt ~= '' then redis.call('HSET', run, 'saved_at', savedAt) end
  if extend and leaseUntil ~= '' and
    tonumber(leaseUntil) > tonumber(redis.call('HGET', run, 'lease_until') or '0') then
    redis.call('HSET', run, 'lease_until', leaseUntil)
  end
  redis.call('EXPIRE', run, tonumber(ttlS))
  return appendEvents(events, run, feed, outbox, tonumber(maxEvents), tonumber(ttlS), tonumber(now), tonumber(graceMs))
end
`;

/**
 * Save a claimed run. `finish` "1" bumps seq and drops the lease; otherwise `leaseUntil` (ms, ""
 * = keep) extends the lease (never shortens it). `savedAt` (ms, "" = leave) is when, for the reconciler. `events` are
 * the run's new events, four entries each (store/outbox.ts `APPEND_EVENTS`): appended to the feed
 * (and the outbox) once each, in the same script as the save. → `{seq, kick}` (kick 1: publish a
 * deliver step), or `{-1, 0}` when the lease was lost (nothing written). `conversation` (""
 * = none) is the upstream conversation the run made for its thread: written to the thread (`thread`)
 * unless it has one, under the same lease check (a step that lost its lease writes none).
 */
export const saveRun = defineScript({
  name: "save",
  keys: ["run", "feed", "outbox", "thread"],
  args: [
    "owner",
    "doc",
    "finish",
    "ttlS",
    "leaseUntil",
    "savedAt",
    "maxEvents",
    "now",
    "graceMs",
    "conversation",
  ],
  rest: "events",
  body: `${APPEND_EVENTS}${SAVE_DOC}
if redis.call('HGET', run, 'lease') ~= owner then return {-1, 0} end
if conversation ~= '' then redis.call('HSETNX', thread, 'conversation_id', conversation) end
local kick = saveDoc(finish ~= '1')
if finish == '1' then
  redis.call('HDEL', run, 'lease', 'lease_until')
  return {redis.call('HINCRBY', run, 'seq', 1), kick}
end
return {tonumber(redis.call('HGET', run, 'seq')), kick}
`,
});

/** Drop a lease without saving. → 1, or 0 when `owner` does not hold it. */
export const unlockRun = defineScript({
  name: "unlock",
  keys: ["run"],
  args: ["owner"],
  body: `
if redis.call('HGET', run, 'lease') ~= owner then return 0 end
redis.call('HDEL', run, 'lease', 'lease_until')
return 1
`,
});

/**
 * Create a run. Refuse it when its thread has an active run (`mode` "exclusive": the Assistants
 * API's 400; "reject": 409), when the thread's queue already holds `maxQueue` runs, when the
 * thread's held messages (those with a document) are not `expectedHeld` (space-separated ids its
 * input was built with), or over a monthly quota; else write it, count it, record its messages (held ones, then the new
 * `messages` (id, doc) pairs, as sent by this run) and queue it. `assistantField` marks the thread
 * as one the run's assistant has run on (what keys scoped to it may read). `threadDoc` is the thread's record,
 * written when it has none yet (a new thread; "" = leave it). `idempotency` is the run key again
 * when `useIdem` is "0". A run whose thread is busy waits in the thread's FIFO; one that gets its
 * thread takes one of the tenant's active-run slots, or waits in the tenant's slot queue (FIFO) when
 * all are taken. Whatever ends first (the thread's active run, a slot holder) hands on: see
 * releaseRun.
 *
 * Busy-thread policies (engine/busy.ts), decided here so concurrent arrivals cannot race:
 * - "latest" / "interrupt" with an active run: the runs queued behind it are dropped (answered as
 *   {…, dropped ids}: the caller cancels them as superseded); their messages go to the held list,
 *   which the new run takes first when it starts. "interrupt" also names the active run to cancel.
 *   Each of those cancels is recorded, in this same script, as owed (`owedCancels`: "run_id flag",
 *   scored `now`): a Worker that dies before it sets the flags and publishes the steps leaves them
 *   for the reconciler, not a run that stays `queued` for ever.
 * - "merge": the thread's pending merge run (thread field `merge_run`, = `expectedMerge`, whose
 *   `mergeRun` hash still says `mergeable`: it has not started) takes the new messages instead of a
 *   new run (its `sent_count` gives their positions; `merged` lists them; `fanout` collects the
 *   callers' callbacks, `callbackDoc`); a moved pointer answers {"merge_moved", id}: read again.
 *   Else the new run becomes the thread's pending merge run. A run still `publishing` (its first
 *   step may not be in QStash yet: a failed publish withdraws it) takes no merges: the message gets
 *   its own run, queued behind it, which becomes the pending merge run.
 * - `debounceMs` > 0: the thread's `quiet_until` moves to now + debounceMs (a debounced run's start
 *   waits for it, see takeHeld).
 * → {"duplicate", idem_value} | {"busy", active_run} | {"reject", active_run} | {"full", max} |
 *   {"held", ids} | {"quota", "runs"|"tokens", limit} | {"merged", run_id} | {"merge_moved", id} |
 *   {"start"} | {"queued", active_run, dropped…} | {"interrupt", active_run, dropped…} |
 *   {"waiting", "1" when a slot is free but others wait (the caller must pump), else "0"}. With
 *   "start" and "waiting" "1" the run is marked `publishing` until the caller has published
 *   (RunStore.published) or a step claims it — when `markPublishing` is "1": only a replay of its
 *   Idempotency-Key and a merge into it read the mark (runs.ts `marksPublishing`), and a mark that
 *   nothing reads costs intake a Redis request to clear.
 */
export const createRun = defineScript({
  name: "create_run",
  keys: [
    "run",
    "idempotency",
    "threadActive",
    "threadQueue",
    "threadRuns",
    "tenant",
    "slots",
    "slotQueue",
    "usage",
    "thread",
    "threadMessages",
    "messageDocs",
    "held",
    "sent",
    "mergeRun",
    "owedCancels",
  ],
  args: [
    "runId",
    "doc",
    "useIdem",
    "idemValue",
    "ttlS",
    "idemTtlS",
    "now",
    "model",
    "defaultMaxActiveRuns",
    "defaultMonthlyRuns",
    "defaultMonthlyTokens",
    "usageTtlS",
    "slotStaleMs",
    "mode",
    "expectedHeld",
    "threadTtlS",
    "threadDoc",
    "assistantField",
    "maxQueue",
    "expectedMerge",
    "debounceMs",
    "callbackDoc",
    "markPublishing",
  ],
  rest: "messages",
  body: `${TENANT_LIMIT}${APPEND_MESSAGES}${SENT_BY_RUN}${HOLD_SORTED}
if useIdem == '1' then
  local existing = redis.call('GET', idempotency)
  if existing then return {'duplicate', existing} end
end
local active = redis.call('GET', threadActive)
if active and mode == 'exclusive' then return {'busy', active} end
if active and mode == 'reject' then return {'reject', active} end
local pending = ''
if mode == 'merge' then
  pending = redis.call('HGET', thread, 'merge_run') or ''
  if pending ~= expectedMerge then return {'merge_moved', pending} end
  if pending ~= '' and (redis.call('HGET', mergeRun, 'mergeable') ~= '1'
    or redis.call('HEXISTS', mergeRun, 'cancel') == 1
    or redis.call('HEXISTS', mergeRun, 'publishing') == 1) then pending = '' end
end
local superseding = active and (mode == 'latest' or mode == 'interrupt')
if active and pending == '' and not superseding and redis.call('LLEN', threadQueue) >= tonumber(maxQueue) then
  return {'full', maxQueue}
end
local heldIds = {}
if not active and pending == '' then
  -- Only held messages that still have a document: those are what intake can read (and take_held
  -- takes); one without would make every new run on the thread a mismatch, refused for good.
  for _, id in ipairs(redis.call('LRANGE', held, 0, -1)) do
    if redis.call('HEXISTS', messageDocs, id) == 1 then heldIds[#heldIds + 1] = id end
  end
  if table.concat(heldIds, ' ') ~= expectedHeld then return {'held', table.concat(heldIds, ' ')} end
end
local runQuota = tenantLimit(tenant, 'monthly_runs', defaultMonthlyRuns)
if pending == '' and runQuota > 0 and tonumber(redis.call('HGET', usage, 'runs') or '0') >= runQuota then
  return {'quota', 'runs', tostring(runQuota)}
end
local tokenQuota = tenantLimit(tenant, 'monthly_tokens', defaultMonthlyTokens)
if tokenQuota > 0 then
  local used = tonumber(redis.call('HGET', usage, 'input_tokens') or '0')
    + tonumber(redis.call('HGET', usage, 'output_tokens') or '0')
  if used >= tokenQuota then return {'quota', 'tokens', tostring(tokenQuota)} end
end
local ttl = tonumber(ttlS)
local nowMs = tonumber(now)
if tonumber(debounceMs) > 0 then
  local quiet = nowMs + tonumber(debounceMs)
  if tonumber(redis.call('HGET', thread, 'quiet_until') or '0') < quiet then
    redis.call('HSET', thread, 'quiet_until', quiet)
  end
end
if pending ~= '' then
  if useIdem == '1' then
    redis.call('SET', idempotency, string.match(idemValue, '^[^|]*') .. '|' .. pending, 'EX', tonumber(idemTtlS))
  end
  redis.call('HSET', thread, assistantField, '1')
  local merged = redis.call('HGET', mergeRun, 'merged') or ''
  for _, id in ipairs(appendMessages(messages, thread, threadMessages, messageDocs, nil)) do
    local pos = redis.call('HINCRBY', mergeRun, 'sent_count', 1) - 1
    redis.call('HSET', sent, id, pending .. ' ' .. pos)
    merged = merged == '' and id or (merged .. ' ' .. id)
  end
  redis.call('HSET', mergeRun, 'merged', merged)
  if callbackDoc ~= '' then
    local fanout = redis.call('HGET', mergeRun, 'fanout')
    redis.call('HSET', mergeRun, 'fanout', fanout and (fanout .. '\\n' .. callbackDoc) or callbackDoc)
  end
  for _, key in ipairs({thread, threadMessages, messageDocs, sent}) do
    redis.call('EXPIRE', key, tonumber(threadTtlS))
  end
  return {'merged', pending}
end
if threadDoc ~= '' then redis.call('HSETNX', thread, 'doc', threadDoc) end
redis.call('HSET', thread, assistantField, '1')
if useIdem == '1' then redis.call('SET', idempotency, idemValue, 'EX', tonumber(idemTtlS)) end
redis.call('HSET', run, 'doc', doc, 'seq', 0)
redis.call('EXPIRE', run, ttl)
redis.call('ZADD', threadRuns, nowMs, runId)
redis.call('EXPIRE', threadRuns, ttl)
redis.call('HINCRBY', usage, 'runs', 1)
redis.call('HINCRBY', usage, 'runs|' .. model, 1)
redis.call('EXPIRE', usage, tonumber(usageTtlS))
local sentIds = {}
for _, id in ipairs(heldIds) do sentIds[#sentIds + 1] = id end
for _, id in ipairs(appendMessages(messages, thread, threadMessages, messageDocs, nil)) do
  sentIds[#sentIds + 1] = id
end
for i, id in ipairs(sentIds) do redis.call('HSET', sent, id, runId .. ' ' .. (i - 1)) end
if not active then redis.call('DEL', held) end
if mode == 'merge' then
  redis.call('HSET', thread, 'merge_run', runId)
  redis.call('HSET', run, 'mergeable', '1', 'sent_count', #sentIds)
end
for _, key in ipairs({thread, threadMessages, messageDocs, held, sent}) do
  redis.call('EXPIRE', key, tonumber(threadTtlS))
end
if active then
  local dropped = {}
  if superseding then
    dropped = redis.call('LRANGE', threadQueue, 0, -1)
    redis.call('DEL', threadQueue)
    local pointer = redis.call('HGET', thread, 'merge_run')
    for _, id in ipairs(dropped) do
      local ids = {}
      for _, pair in ipairs(sentByRun(sent, id)) do ids[#ids + 1] = pair[1] end
      holdSorted(held, threadMessages, sent, ids, tonumber(threadTtlS))
      if pointer == id then redis.call('HDEL', thread, 'merge_run') end
      redis.call('ZADD', owedCancels, nowMs, id .. ' superseded:' .. runId)
    end
    if mode == 'interrupt' then redis.call('ZADD', owedCancels, nowMs, active .. ' 1') end
    redis.call('EXPIRE', owedCancels, ttl)
  end
  redis.call('RPUSH', threadQueue, runId)
  redis.call('EXPIRE', threadQueue, ttl)
  return {mode == 'interrupt' and 'interrupt' or 'queued', active, unpack(dropped)}
end
redis.call('SET', threadActive, runId, 'EX', ttl)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', nowMs - tonumber(slotStaleMs))
local free = redis.call('ZCARD', slots) < tenantLimit(tenant, 'max_active_runs', defaultMaxActiveRuns)
if free and redis.call('LLEN', slotQueue) == 0 then
  redis.call('ZADD', slots, nowMs, runId)
  redis.call('EXPIRE', slots, ttl)
  if markPublishing == '1' then redis.call('HSET', run, 'publishing', '1') end
  return {'start'}
end
redis.call('RPUSH', slotQueue, runId)
redis.call('EXPIRE', slotQueue, ttl)
if free then
  if markPublishing == '1' then redis.call('HSET', run, 'publishing', '1') end
  return {'waiting', '1'}
end
return {'waiting', '0'}
`,
});

/**
 * Add `messages` ((id, doc) pairs) to an idle thread; they wait (held) for its next run, at most
 * `maxHeld` of them. → {"ok"} | {"busy", active_run} | {"missing"} | {"full"}
 */
export const addMessages = defineScript({
  name: "add_messages",
  keys: ["threadActive", "thread", "threadMessages", "messageDocs", "held"],
  args: ["threadTtlS", "maxHeld"],
  rest: "messages",
  body: `${APPEND_MESSAGES}
local active = redis.call('GET', threadActive)
if active then return {'busy', active} end
if redis.call('EXISTS', thread) == 0 then return {'missing'} end
if redis.call('LLEN', held) + #messages / 2 > tonumber(maxHeld) then return {'full'} end
appendMessages(messages, thread, threadMessages, messageDocs, held)
for _, key in ipairs({thread, threadMessages, messageDocs, held}) do
  redis.call('EXPIRE', key, tonumber(threadTtlS))
end
return {'ok'}
`,
});

/**
 * Delete a message. → {"missing"} | {"deleted", sent} where sent is "run_id index" for a message a
 * run carried upstream (so its conversation item can be deleted too), else "".
 */
export const deleteMessage = defineScript({
  name: "delete_message",
  keys: ["threadMessages", "messageDocs", "held", "sent"],
  args: ["messageId"],
  body: `
if redis.call('HDEL', messageDocs, messageId) == 0 then return {'missing'} end
redis.call('ZREM', threadMessages, messageId)
redis.call('LREM', held, 0, messageId)
local sentBy = redis.call('HGET', sent, messageId) or ''
redis.call('HDEL', sent, messageId)
return {'deleted', sentBy}
`,
});

/**
 * A run ended before its input joined its conversation (upstream keeps a response's input only when
 * it completes): the messages it carried go back to the thread's held list and are no longer marked
 * as sent, so the thread's next run sends them. The held list stays in thread order (each message's
 * score in threadMessages), whatever was held already. Idempotent. → count
 */
export const returnMessages = defineScript({
  name: "return_messages",
  keys: ["sent", "held", "threadMessages"],
  args: ["runId", "threadTtlS"],
  body: `${SENT_BY_RUN}${HOLD_SORTED}
local mine = sentByRun(sent, runId)
if #mine == 0 then return 0 end
local ids = {}
for _, pair in ipairs(mine) do ids[#ids + 1] = pair[1] end
holdSorted(held, threadMessages, sent, ids, tonumber(threadTtlS))
return #mine
`,
});

/**
 * A run starts holding its thread: messages held on it (given back by a run that failed or was
 * cancelled before it, see returnMessages, or left by runs a newer one superseded) become the head
 * of this run's input. They are marked as sent by this run at the first positions, its own messages'
 * positions move up, and the ids are kept on the run (RUN_FIELDS.heldTaken) so a repeat of the step
 * gets the same answer. A debounced run (`debounce` "1") first waits for its thread's quiet time
 * (thread field `quiet_until`): → {"wait", ms}. Taking closes a merge run to further merges
 * (`mergeable` goes) and answers the messages merged into it (after its own) and the merged
 * callers' callbacks (`fanout`, JSON lines).
 * With `read` "1" (MessageStore.takeHeld `reading`) the same request reads what the run's next
 * actions need and extends the step's lease for them: the lease goes to `leaseUntil` when `owner`
 * holds it (never shorter); the tenant's `monthly_tokens`, the month's token counters (`usage`), and
 * the thread's document, conversation and files store (the quota check and the conversation's
 * lookup that follow a start).
 * → {"ok", count of held docs, fanout, lease until (ms, "" not held or not read), monthly_tokens,
 *   input_tokens, output_tokens, thread doc, conversation_id, files_store, held docs…, merged docs…}
 */
export const takeHeld = defineScript({
  name: "take_held",
  keys: ["run", "held", "messageDocs", "sent", "thread", "tenant", "usage"],
  args: ["runId", "now", "debounce", "read", "owner", "leaseUntil"],
  body: `${SENT_BY_RUN}
local function docsOf(ids)
  local docs = {}
  for _, id in ipairs(ids) do
    local doc = redis.call('HGET', messageDocs, id)
    if doc then docs[#docs + 1] = doc end
  end
  return docs
end
local function reading()
  if read ~= '1' then return {'', '', '', '', '', '', ''} end
  local leased = ''
  if redis.call('HGET', run, 'lease') == owner then
    local current = tonumber(redis.call('HGET', run, 'lease_until') or '0')
    if tonumber(leaseUntil) > current then
      redis.call('HSET', run, 'lease_until', leaseUntil)
      current = tonumber(leaseUntil)
    end
    leased = tostring(current)
  end
  local t = redis.call('HMGET', thread, 'doc', 'conversation_id', 'files_store')
  local u = redis.call('HMGET', usage, 'input_tokens', 'output_tokens')
  return {leased, redis.call('HGET', tenant, 'monthly_tokens') or '', u[1] or '', u[2] or '',
    t[1] or '', t[2] or '', t[3] or ''}
end
local function answer(heldDocs)
  local mergedIds = {}
  for id in string.gmatch(redis.call('HGET', run, 'merged') or '', '%S+') do mergedIds[#mergedIds + 1] = id end
  local out = {'ok', tostring(#heldDocs), redis.call('HGET', run, 'fanout') or ''}
  for _, v in ipairs(reading()) do out[#out + 1] = v end
  for _, d in ipairs(heldDocs) do out[#out + 1] = d end
  for _, d in ipairs(docsOf(mergedIds)) do out[#out + 1] = d end
  return out
end
local prior = redis.call('HGET', run, 'held_taken')
if prior then
  local ids = {}
  for id in string.gmatch(prior, '%S+') do ids[#ids + 1] = id end
  return answer(docsOf(ids))
end
if debounce == '1' then
  local quiet = tonumber(redis.call('HGET', thread, 'quiet_until') or '0')
  if quiet > tonumber(now) then return {'wait', tostring(quiet - tonumber(now))} end
end
redis.call('HDEL', run, 'mergeable')
local taken = {}
for _, id in ipairs(redis.call('LRANGE', held, 0, -1)) do
  if redis.call('HEXISTS', messageDocs, id) == 1 then taken[#taken + 1] = id end
end
redis.call('HSET', run, 'held_taken', table.concat(taken, ' '))
if #taken == 0 then return answer({}) end
local prefix = runId .. ' '
for _, pair in ipairs(sentByRun(sent, runId)) do
  redis.call('HSET', sent, pair[1], prefix .. tostring(pair[2] + #taken))
end
for j, id in ipairs(taken) do redis.call('HSET', sent, id, prefix .. tostring(j - 1)) end
redis.call('DEL', held)
return answer(docsOf(taken))
`,
});

/** A merge run ends before it started: no more merges join it. → its merged callers' callbacks (JSON lines). */
export const closeMerge = defineScript({
  name: "close_merge",
  keys: ["run"],
  args: [],
  body: `
redis.call('HDEL', run, 'mergeable')
return redis.call('HGET', run, 'fanout') or ''
`,
});

/**
 * Add a run's tokens (and how many of its responses' usage is estimated, and how many responses'
 * usage is unknown) to a month's usage hash, overall and per model.
 */
const ADD_USAGE = `
local function addUsage(usage, model, inputTokens, outputTokens, estimated, unknown, usageTtlS)
  redis.call('HINCRBY', usage, 'input_tokens', tonumber(inputTokens))
  redis.call('HINCRBY', usage, 'output_tokens', tonumber(outputTokens))
  redis.call('HINCRBY', usage, 'input_tokens|' .. model, tonumber(inputTokens))
  redis.call('HINCRBY', usage, 'output_tokens|' .. model, tonumber(outputTokens))
  if tonumber(estimated) ~= 0 then
    redis.call('HINCRBY', usage, 'estimated_responses', tonumber(estimated))
  end
  if tonumber(unknown) ~= 0 then
    redis.call('HINCRBY', usage, 'unknown_responses', tonumber(unknown))
  end
  redis.call('EXPIRE', usage, tonumber(usageTtlS))
end
`;

/** releaseRun's work (releaseRun, releaseSaveRun): → handOut's answer. */
const RELEASE_RUN = `${TENANT_LIMIT}${HAND_OUT}${LET_GO}${ADD_USAGE}
local function releaseRunNow()
  local ttl = tonumber(ttlS)
  if answerId ~= '' and redis.call('EXISTS', thread) == 1
    and redis.call('HSETNX', messageDocs, answerId, answerDoc) == 1 then
    redis.call('ZADD', threadMessages, redis.call('HINCRBY', thread, 'msg_seq', 1), answerId)
  end
  if countUsage == '1' and redis.call('HSETNX', run, 'usage_counted', '1') == 1 then
    addUsage(usage, model, inputTokens, outputTokens, estimatedResponses, unknownResponses, usageTtlS)
  end
  letGo(slots, slotQueue, threadActive, threadQueue, runId, ttl)
  return handOut(slots, slotQueue, tenant, expected, ttl, tonumber(now), tonumber(slotStaleMs),
    defaultMaxActiveRuns)
end
`;

/** releaseRun's names, which releaseSaveRun takes too. */
const RELEASE_KEYS = [
  "slots",
  "slotQueue",
  "tenant",
  "threadActive",
  "threadQueue",
  "run",
  "usage",
  "thread",
  "threadMessages",
  "messageDocs",
] as const;
const RELEASE_ARGS = [
  "runId",
  "expected",
  "ttlS",
  "now",
  "slotStaleMs",
  "defaultMaxActiveRuns",
  "model",
  "inputTokens",
  "outputTokens",
  "usageTtlS",
  "countUsage",
  "estimatedResponses",
  "unknownResponses",
  "answerId",
  "answerDoc",
] as const;

/**
 * A run ended: its answer (`answerId` "" = none) is recorded on its thread (idempotently: the first
 * document wins), it lets go of its slot and its thread — the thread's next run takes the thread
 * and joins the slot queue — and its tokens are counted once (`countUsage` "1"). Then a free slot
 * goes to the head of the slot queue as in pumpSlots (with `expected` as there).
 * → {"done"} | {"head", id} | {"handed", id}
 */
export const releaseRun = defineScript({
  name: "release_run",
  keys: [...RELEASE_KEYS],
  args: [...RELEASE_ARGS],
  body: `${RELEASE_RUN}
return releaseRunNow()
`,
});

/**
 * A run's end in one request: save it under the lease (as saveRun without `finish`, `leaseUntil`
 * extending the lease for the delivery that follows) and release it (as releaseRun). Saving first
 * makes what the release leads to readable: the run's record says its thread is released.
 * → {kind, id, seq, kick} (kind and id as releaseRun's: "done", "head" or "handed"; the caller hands
 * slots on from there with pumpSlots), or {"lost"} when `owner` holds no lease (nothing written).
 */
export const releaseSaveRun = defineScript({
  name: "release_save_run",
  keys: [...RELEASE_KEYS, "feed", "outbox"],
  args: [...RELEASE_ARGS, "owner", "doc", "leaseUntil", "savedAt", "maxEvents", "graceMs"],
  rest: "events",
  body: `${APPEND_EVENTS}${SAVE_DOC}${RELEASE_RUN}
if redis.call('HGET', run, 'lease') ~= owner then return {'lost'} end
local kick = saveDoc(true)
local handed = releaseRunNow()
return {handed[1], handed[2] or '', tonumber(redis.call('HGET', run, 'seq')), kick}
`,
});

/**
 * Nothing ended; hand a free slot to the head of the slot queue, but only after the caller has
 * published that run's start step: the first call answers {"head", id}, the caller publishes,
 * calls again with `expected` = id and gets {"handed", id}, and repeats with "" while slots are
 * free. → {"done"} | {"head", id} | {"handed", id}
 */
export const pumpSlots = defineScript({
  name: "pump_slots",
  keys: ["slots", "slotQueue", "tenant"],
  args: ["expected", "ttlS", "now", "slotStaleMs", "defaultMaxActiveRuns"],
  body: `${TENANT_LIMIT}${HAND_OUT}
return handOut(slots, slotQueue, tenant, expected, tonumber(ttlS), tonumber(now), tonumber(slotStaleMs),
  defaultMaxActiveRuns)
`,
});

/**
 * An owed cancel (createRun's `owedCancels`) that intake did not settle: the run's cancel flag is
 * set unless it has one. → the run's seq (a step at it ends the run; the caller publishes it, then
 * removes the entry), or -1 when the run is gone.
 */
export const owedCancel = defineScript({
  name: "owed_cancel",
  keys: ["run"],
  args: ["flag"],
  body: `
local seq = redis.call('HGET', run, 'seq')
if not seq then return -1 end
redis.call('HSETNX', run, 'cancel', flag)
return tonumber(seq)
`,
});

/** Take a queued (not yet started) run out of its thread's queue. → how many were removed. */
export const unqueueRun = defineScript({
  name: "unqueue_run",
  keys: ["threadQueue"],
  args: ["runId"],
  body: "return redis.call('LREM', threadQueue, 0, runId)",
});

/**
 * Undo createRun's record when the run's first step could not be published (the caller gets a
 * 503, so the run was never accepted): its messages are taken back (`newIds` removed, `heldIds`
 * held again; both space-separated, in order), its count undone, and its slot and thread let go
 * (the thread's next queued run takes it and waits for a slot), all at once: a release of its own
 * after the run is gone could fail and leave the thread held by a run that no longer exists, with
 * every later message queued behind it. The caller then hands free slots on (pumpSlots).
 * `idempotency` is the run key again when `useIdem` is "0" (it is a hash then: reading it as a
 * string would fail the script). A run marked `claimed` was claimed by a step (the publish
 * that looked failed reached QStash after all, or the pump published it before a later call failed):
 * it is running, so it stays accepted and nothing changes — a withdrawn run must never run, and one
 * that runs must not be withdrawn (its callback would come beside the retry's). → 1 (undone) | 0 (was
 * already gone) | -1 (a step has it: kept)
 */
export const abandonRun = defineScript({
  name: "abandon_run",
  keys: [
    "run",
    "idempotency",
    "threadRuns",
    "usage",
    "threadMessages",
    "messageDocs",
    "held",
    "sent",
    "slots",
    "slotQueue",
    "threadActive",
    "threadQueue",
  ],
  args: ["runId", "useIdem", "model", "newIds", "heldIds", "ttlS"],
  body: `${LET_GO}
if redis.call('HEXISTS', run, 'claimed') == 1 then return -1 end
letGo(slots, slotQueue, threadActive, threadQueue, runId, tonumber(ttlS))
redis.call('ZREM', threadRuns, runId)
if useIdem == '1' then
  local idem = redis.call('GET', idempotency)
  if idem and string.find(idem, runId, 1, true) then redis.call('DEL', idempotency) end
end
if redis.call('DEL', run) == 0 then return 0 end
for id in string.gmatch(newIds, '%S+') do
  redis.call('ZREM', threadMessages, id)
  redis.call('HDEL', messageDocs, id)
  redis.call('HDEL', sent, id)
end
for id in string.gmatch(heldIds, '%S+') do
  redis.call('RPUSH', held, id)
  redis.call('HDEL', sent, id)
end
redis.call('HINCRBY', usage, 'runs', -1)
redis.call('HINCRBY', usage, 'runs|' .. model, -1)
return 1
`,
});

/**
 * Write a run that ended before it was accepted (engine event `refused`), unless it exists; with
 * `useIdem` "1" the idempotency key is taken for it too, unless it names a run already (then
 * nothing is written). → {"ok"} | {"exists"} | {"duplicate", idem_value}
 */
export const createEnded = defineScript({
  name: "create_ended",
  keys: ["run", "idempotency"],
  args: ["doc", "ttlS", "useIdem", "idemValue", "idemTtlS"],
  body: `
if useIdem == '1' then
  local existing = redis.call('GET', idempotency)
  if existing then return {'duplicate', existing} end
end
if redis.call('EXISTS', run) == 1 then return {'exists'} end
if useIdem == '1' then redis.call('SET', idempotency, idemValue, 'EX', tonumber(idemTtlS)) end
redis.call('HSET', run, 'doc', doc, 'seq', 0)
redis.call('EXPIRE', run, tonumber(ttlS))
return {'ok'}
`,
});

/** Create a tenant unless it exists; `fields` are field/value pairs of its hash. → 1 created | 0 exists. */
export const createTenant = defineScript({
  name: "create_tenant",
  keys: ["tenant", "tenantIndex"],
  args: ["tenantId", "createdMs"],
  rest: "fields",
  body: `
if redis.call('HEXISTS', tenant, 'doc') == 1 then return 0 end
redis.call('HSET', tenant, unpack(fields))
redis.call('ZADD', tenantIndex, tonumber(createdMs), tenantId)
return 1
`,
});

/**
 * Delete an idle thread and everything under it. `conversation` is the conversation-key mapping,
 * or the thread hash again when the thread has none. → {"busy", active_run} | {"missing"} |
 * {"deleted", conversation_id or ""}.
 */
export const deleteThread = defineScript({
  name: "delete_thread",
  keys: [
    "thread",
    "threadActive",
    "threadQueue",
    "threadRuns",
    "threadMessages",
    "messageDocs",
    "held",
    "sent",
    "conversation",
  ],
  args: ["threadId"],
  body: `
local active = redis.call('GET', threadActive)
if active then return {'busy', active} end
if redis.call('EXISTS', thread) == 0 then return {'missing'} end
local conversationId = redis.call('HGET', thread, 'conversation_id') or ''
if conversation ~= thread and redis.call('GET', conversation) == threadId then
  redis.call('DEL', conversation)
end
redis.call('DEL', thread, threadQueue, threadRuns, threadMessages, messageDocs, held, sent)
return {'deleted', conversationId}
`,
});

/** Lua text of the claim and save scripts as sent (test/e2e/faults.test.ts fails them by SHA-1). */
export const CLAIM = claimRun.lua;
export const SAVE = saveRun.lua;
export const RELEASE = releaseRun.lua;

/**
 * A conversation key's thread and when the mapping expires, in unix seconds: the server's clock plus
 * PTTL, both read inside one script (the clock stands still in a script), so every read gives the
 * same second (EXPIRETIME does the same from Redis 7.0; this works on any Redis).
 */
export const readConversation = defineScript({
  name: "read_conversation",
  keys: ["conversation"],
  args: [],
  body: `local thread = redis.call('GET', conversation)
if not thread then return {'', -2} end
local pttl = redis.call('PTTL', conversation)
if pttl < 0 then return {thread, pttl} end
local now = redis.call('TIME')
return {thread, math.floor((tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + pttl) / 1000)}`,
});

/**
 * The reconciler's next page of a tenant's active slots taken before `before` (ms): at most `limit`
 * run ids, from where its last call stopped (`cursor`, a rank among those slots), so runs that stay
 * healthy for long cannot hide newer ones behind them. Past the end, the walk starts over (at once
 * when the page would be empty). Ranks shift as runs end: a run may be passed over in one walk, never
 * in two walks in a row. → the ids
 */
export const strandedPage = defineScript({
  name: "stranded_page",
  keys: ["slots", "cursor"],
  args: ["before", "limit", "ttlS"],
  body: `
local n = tonumber(limit)
local offset = tonumber(redis.call('GET', cursor) or '0') or 0
local ids = redis.call('ZRANGE', slots, '-inf', '(' .. before, 'BYSCORE', 'LIMIT', offset, n)
if #ids == 0 and offset > 0 then
  offset = 0
  ids = redis.call('ZRANGE', slots, '-inf', '(' .. before, 'BYSCORE', 'LIMIT', 0, n)
end
if #ids < n then
  redis.call('DEL', cursor)
else
  redis.call('SET', cursor, offset + #ids, 'EX', tonumber(ttlS))
end
return ids
`,
});

/**
 * Tokens a run's response brought after the run's release had counted its usage (a stray response's
 * webhook: engine/run.ts `onStray`), added once per response (`responseId`); before the release they
 * are in the run's own usage, which the release counts. → 1 when added, 0 when not.
 */
export const countLateUsage = defineScript({
  name: "count_late_usage",
  keys: ["run", "usage"],
  args: [
    "responseId",
    "model",
    "inputTokens",
    "outputTokens",
    "estimatedResponses",
    "unknownResponses",
    "usageTtlS",
  ],
  body: `${ADD_USAGE}
if redis.call('HGET', run, 'usage_counted') ~= '1' then return 0 end
if redis.call('HSETNX', run, 'late_usage:' .. responseId, '1') == 0 then return 0 end
addUsage(usage, model, inputTokens, outputTokens, estimatedResponses, unknownResponses, usageTtlS)
return 1
`,
});
