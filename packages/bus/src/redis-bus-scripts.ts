// Lua run inside Redis. Each script touches only one tenant's keys (one hash slot).
//
// History is exact *logically* and trimmed *physically* in batches: an entry counts as in
// history while its seq is among the newest maxEvents and it is younger than maxAge. Both
// scripts check that themselves, so the stream may briefly hold a few more entries than the
// limit; physical trimming runs every TRIM_EVERY publishes, which keeps the per-publish cost low
// (no entry has to be copied into Lua on the common path).

const TRIM_EVERY = 32;

/**
 * Removes entries outside the window, with their de-duplication ids. An id is removed only
 * while it still points at the removed entry (it may have been re-published since).
 * Stream fields: e = event JSON, i = event id, t = publish time in ms.
 */
const trimHistory = `
local function drop(stream, ids, entry)
  local seq = string.sub(entry[1], 3)
  if redis.call('HGET', ids, entry[2][4]) == seq then
    redis.call('HDEL', ids, entry[2][4])
  end
  redis.call('XDEL', stream, entry[1])
end

local function trim_history(stream, ids, max_events, cutoff)
  local excess = redis.call('XLEN', stream) - max_events
  if excess > 0 then
    for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+', 'COUNT', excess)) do
      drop(stream, ids, entry)
    end
  end
  while true do
    local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 64)
    local removed = 0
    for _, entry in ipairs(head) do
      if tonumber(entry[2][6]) >= cutoff then return end
      drop(stream, ids, entry)
      removed = removed + 1
    end
    if removed < 64 then return end
  end
end
`;

/**
 * Publish, atomically: de-duplicate by event id, assign the next sequence number of the
 * tenant's stream, append to the bounded history and PUBLISH to live subscribers.
 *
 * KEYS: meta, stream, ids. ARGV: event JSON, event id, channel, maxEvents, maxAgeMs, metaTtlMs,
 * a fresh epoch (used only when the stream has none).
 * Returns { cursor, duplicate (0|1) }.
 */
export const publishScript = `${trimHistory}
local meta, stream, ids = KEYS[1], KEYS[2], KEYS[3]
local event_json, event_id, channel = ARGV[1], ARGV[2], ARGV[3]
local max_events, max_age, meta_ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  epoch = ARGV[7]
  redis.call('DEL', stream, ids)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', 0)
  redis.call('PEXPIRE', meta, meta_ttl)
end

local existing = redis.call('HGET', ids, event_id)
if existing then
  -- A duplicate only while the first copy is still inside the window.
  local top = tonumber(redis.call('HGET', meta, 'seq'))
  if tonumber(existing) > top - max_events then
    local entry = redis.call('XRANGE', stream, '0-' .. existing, '0-' .. existing)[1]
    if entry and tonumber(entry[2][6]) >= now - max_age then
      return { epoch .. ':' .. existing, 1 }
    end
  end
end

local seq = redis.call('HINCRBY', meta, 'seq', 1)
redis.call('XADD', stream, '0-' .. seq, 'e', event_json, 'i', event_id, 't', now)
redis.call('HSET', ids, event_id, seq)
if seq % ${TRIM_EVERY} == 1 then
  -- The meta TTL is days long: refreshing it on every 32nd publish is plenty.
  redis.call('PEXPIRE', meta, meta_ttl)
elseif seq % ${TRIM_EVERY} == 0 then
  trim_history(stream, ids, max_events, now - max_age)
end
redis.call('PEXPIRE', stream, max_age)
redis.call('PEXPIRE', ids, max_age)

local cursor = epoch .. ':' .. seq
redis.call('PUBLISH', channel, cursor .. '\\n' .. event_json)
return { cursor, 0 }
`;

/**
 * Reads history after a sequence number, all or nothing (read-only).
 *
 * KEYS: meta, stream. ARGV: after seq ('' = only report the position), limit, maxAgeMs,
 * maxEvents.
 * Returns { epoch ('' when the tenant has no stream), top seq, status, seq1, json1, seq2, ... }
 * with status 'ok' (entries follow, possibly none) or 'gap' (some wanted entry has left history).
 */
export const readScript = `
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then return { '', 0, 'ok' } end
local top = tonumber(redis.call('HGET', meta, 'seq') or '0')
if ARGV[1] == '' then return { epoch, top, 'ok' } end
local after = tonumber(ARGV[1])
if after >= top then return { epoch, top, 'ok' } end
if after + 1 <= top - tonumber(ARGV[4]) then return { epoch, top, 'gap' } end

local time = redis.call('TIME')
local cutoff = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) - tonumber(ARGV[3])
local entries = redis.call('XRANGE', stream, '0-' .. (after + 1), '+', 'COUNT', tonumber(ARGV[2]))
local first = entries[1]
if not first or first[1] ~= ('0-' .. (after + 1)) or tonumber(first[2][6]) < cutoff then
  return { epoch, top, 'gap' }
end
local result = { epoch, top, 'ok' }
for _, entry in ipairs(entries) do
  if tonumber(entry[2][6]) >= cutoff then
    result[#result + 1] = string.sub(entry[1], 3)
    result[#result + 1] = entry[2][2]
  end
end
return result
`;
