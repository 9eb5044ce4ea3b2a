/**
 * The Lua of a run's outbox (store/outbox.ts): a hash per run, keyed by event, holding
 *
 *   next            the last sequence_number given to an event of the run
 *   done            the cursor: every event up to it was delivered or failed for good
 *   id:<event id>   the event's sequence_number (0: the event is in the feed only)
 *   e:<seq>         the event to deliver: its JSON, "@" (the runner delivers it: requires_action,
 *                   the terminal event) or "" (a message.delta superseded by a later one)
 *   n:<seq> nb:<seq>  failed attempts of the head event, and not before when (ms) to try again
 *   sched_until     a deliver step is due by then (ms); past it, the next append publishes one
 *   lease lease_until  the deliver step sending now
 *   pd dlast appended_at  the last delta's seq, when a delta was last delivered, when an event was last appended
 *   delivered failed last_error  counts and the last failure, for the run's delivery state
 */

/**
 * Append a save's events: `list` holds four entries per event (id, type, flags, JSON body).
 * Flags: `s` the state event of the run (deduplicated against the run's `feed_last`, as before),
 * else deduplicated by id in the outbox; `n` give it the next sequence_number (spliced into the JSON
 * as its first field); `o` the deliver step delivers it; `r` the runner does. A `message.delta` after
 * a delta replaces it in the feed (the feed keeps the last one) and supersedes an undelivered one
 * in the outbox that is not being sent. → 1 when a deliver step must be published.
 */
export const APPEND_EVENTS = `
local function appendEvents(list, run, feed, outbox, maxEvents, ttlS, now, graceMs)
  local kick = 0
  for i = 1, #list - 3, 4 do
    local id, etype, flags, body = list[i], list[i + 1], list[i + 2], list[i + 3]
    local state = string.find(flags, 's', 1, true) ~= nil
    local fresh
    if state then
      fresh = redis.call('HGET', run, 'feed_last') ~= id
      if fresh then redis.call('HSET', run, 'feed_last', id) end
    else
      fresh = redis.call('HEXISTS', outbox, 'id:' .. id) == 0
    end
    if fresh then
      local seq = 0
      if string.find(flags, 'n', 1, true) then
        seq = redis.call('HINCRBY', outbox, 'next', 1)
        body = '{"sequence_number":' .. seq .. ',' .. string.sub(body, 2)
      end
      if seq > 0 or not state then
        redis.call('HSET', outbox, 'id:' .. id, seq)
        redis.call('EXPIRE', outbox, ttlS)
      end
      if etype == 'message.delta' and redis.call('HGET', run, 'feed_tail') == 'message.delta'
        and redis.call('LLEN', feed) > 0 then
        redis.call('LSET', feed, -1, body)
      else
        redis.call('RPUSH', feed, body)
        redis.call('LTRIM', feed, -maxEvents, -1)
      end
      redis.call('HSET', run, 'feed_tail', etype)
      redis.call('EXPIRE', feed, ttlS)
      if seq > 0 and string.find(flags, 'r', 1, true) then
        redis.call('HSET', outbox, 'e:' .. seq, '@')
      elseif seq > 0 and string.find(flags, 'o', 1, true) then
        redis.call('HSET', outbox, 'e:' .. seq, body, 'appended_at', now)
        if etype == 'message.delta' then
          local pd = tonumber(redis.call('HGET', outbox, 'pd') or '0')
          local done = tonumber(redis.call('HGET', outbox, 'done') or '0')
          if pd > done + 1 and redis.call('HEXISTS', outbox, 'e:' .. pd) == 1 then
            redis.call('HSET', outbox, 'e:' .. pd, '')
          end
          redis.call('HSET', outbox, 'pd', seq)
        end
        if tonumber(redis.call('HGET', outbox, 'sched_until') or '0') < now then
          redis.call('HSET', outbox, 'sched_until', now + graceMs)
          kick = 1
        end
      end
    end
  end
  return kick
end
`;

/** Skip superseded deltas (and, for the runner, its own earlier events) at the cursor. */
const SKIP = `
local function skipDone(outbox, upto, skipRunner)
  local done = tonumber(redis.call('HGET', outbox, 'done') or '0')
  while done < upto do
    local b = redis.call('HGET', outbox, 'e:' .. (done + 1))
    if b == '' or (skipRunner and b == '@') then
      redis.call('HDEL', outbox, 'e:' .. (done + 1))
      done = done + 1
    else
      break
    end
  end
  redis.call('HSET', outbox, 'done', done)
  return done
end
`;

/**
 * The deliver step takes the head event under a lease. → {"busy"} (another step sends), {"idle"}
 * (nothing to send: the schedule mark is cleared in the same script, so the next append publishes a
 * step), {"linger"} (nothing now, but an event was appended within `lingerMs`: come back soon),
 * {"runner"} (the head is the runner's event: it sends it), or {"event", seq, body, failed attempts,
 * not before (ms), when a delta was last delivered (ms)}.
 */
export const OUTBOX_HEAD = {
  name: "outbox_head",
  keys: ["outbox"] as const,
  args: ["owner", "now", "leaseMs", "lingerMs"] as const,
  body: `${SKIP}
if redis.call('EXISTS', outbox) == 0 then return {'idle'} end
local holder = redis.call('HGET', outbox, 'lease')
if holder and holder ~= owner and tonumber(redis.call('HGET', outbox, 'lease_until') or '0') > tonumber(now) then
  return {'busy'}
end
local last = tonumber(redis.call('HGET', outbox, 'next') or '0')
local done = skipDone(outbox, last, false)
if done >= last then
  if tonumber(now) - tonumber(redis.call('HGET', outbox, 'appended_at') or '0') < tonumber(lingerMs) then
    redis.call('HSET', outbox, 'lease', owner, 'lease_until', tonumber(now) + tonumber(leaseMs))
    return {'linger'}
  end
  redis.call('HDEL', outbox, 'lease', 'lease_until')
  redis.call('HSET', outbox, 'sched_until', 0)
  return {'idle'}
end
local seq = done + 1
local body = redis.call('HGET', outbox, 'e:' .. seq)
if not body or body == '@' then
  redis.call('HDEL', outbox, 'lease', 'lease_until')
  redis.call('HSET', outbox, 'sched_until', 0)
  return {'runner'}
end
redis.call('HSET', outbox, 'lease', owner, 'lease_until', tonumber(now) + tonumber(leaseMs))
return {'event', tostring(seq), body, redis.call('HGET', outbox, 'n:' .. seq) or '0',
  redis.call('HGET', outbox, 'nb:' .. seq) or '0', redis.call('HGET', outbox, 'dlast') or '0'}
`,
};

/**
 * The outcome of sending the head event `seq`: `ok`, `failed` (for good) or `retry` (at
 * `notBefore`). Only under the lease and at the cursor. → 1, or 0 when neither holds. An outcome
 * already recorded (the cursor is past `seq`: a repeat of a write whose answer was lost) is 1 too.
 */
export const OUTBOX_RECORD = {
  name: "outbox_record",
  keys: ["outbox"] as const,
  args: ["owner", "seq", "outcome", "notBefore", "failure", "now", "isDelta"] as const,
  body: `
if redis.call('HGET', outbox, 'lease') ~= owner then return 0 end
local s = tonumber(seq)
local done = tonumber(redis.call('HGET', outbox, 'done') or '0')
if done >= s then return 1 end
if done ~= s - 1 then return 0 end
if outcome == 'retry' then
  redis.call('HINCRBY', outbox, 'n:' .. s, 1)
  redis.call('HSET', outbox, 'nb:' .. s, notBefore, 'last_error', failure)
  return 1
end
redis.call('HSET', outbox, 'done', s)
redis.call('HDEL', outbox, 'e:' .. s, 'n:' .. s, 'nb:' .. s)
if outcome == 'ok' then
  redis.call('HINCRBY', outbox, 'delivered', 1)
  if isDelta == '1' then redis.call('HSET', outbox, 'dlast', now) end
else
  redis.call('HINCRBY', outbox, 'failed', 1)
  redis.call('HSET', outbox, 'last_error', failure)
end
return 1
`,
};

/** The deliver step ends and a next one is due by `schedUntil` (ms). */
export const OUTBOX_RELEASE = {
  name: "outbox_release",
  keys: ["outbox"] as const,
  args: ["owner", "schedUntil"] as const,
  body: `
if redis.call('EXISTS', outbox) == 0 then return 0 end
if redis.call('HGET', outbox, 'lease') == owner then redis.call('HDEL', outbox, 'lease', 'lease_until') end
redis.call('HSET', outbox, 'sched_until', schedUntil)
return 1
`,
};

/**
 * The runner asks whether its event (`eventId`: requires_action or the end) may be sent: every
 * event before it is done. Its sequence_number is given now if its save gave none. → {seq, ready,
 * kick} (kick 1: a deliver step must be published for the events before it).
 */
export const OUTBOX_TURN = {
  name: "outbox_turn",
  keys: ["outbox"] as const,
  args: ["eventId", "now", "graceMs", "ttlS"] as const,
  body: `${SKIP}
local seq = tonumber(redis.call('HGET', outbox, 'id:' .. eventId) or '0')
if seq == 0 then
  seq = redis.call('HINCRBY', outbox, 'next', 1)
  redis.call('HSET', outbox, 'id:' .. eventId, seq, 'e:' .. seq, '@')
  redis.call('EXPIRE', outbox, tonumber(ttlS))
end
local done = skipDone(outbox, seq - 1, true)
local kick = 0
if done < seq - 1 and tonumber(redis.call('HGET', outbox, 'sched_until') or '0') < tonumber(now) then
  redis.call('HSET', outbox, 'sched_until', tonumber(now) + tonumber(graceMs))
  kick = 1
end
if done >= seq - 1 then return {seq, 1, kick} end
return {seq, 0, kick}
`,
};

/**
 * The runner's event `seq` was delivered or failed for good: the cursor moves past it. → 1 when
 * events after it wait and no deliver step is due (publish one).
 */
export const OUTBOX_ADVANCE = {
  name: "outbox_advance",
  keys: ["outbox"] as const,
  args: ["seq", "now", "graceMs"] as const,
  body: `
if redis.call('EXISTS', outbox) == 0 then return 0 end
local s = tonumber(seq)
local done = tonumber(redis.call('HGET', outbox, 'done') or '0')
if done == s - 1 then
  redis.call('HSET', outbox, 'done', s)
  redis.call('HDEL', outbox, 'e:' .. s)
  done = s
end
if tonumber(redis.call('HGET', outbox, 'next') or '0') > done
  and tonumber(redis.call('HGET', outbox, 'sched_until') or '0') < tonumber(now) then
  redis.call('HSET', outbox, 'sched_until', tonumber(now) + tonumber(graceMs))
  return 1
end
return 0
`,
};
