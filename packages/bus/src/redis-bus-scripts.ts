// Lua run inside Redis. Each script touches only one tenant's keys (one hash slot), so both run
// unchanged on Redis Cluster, and declares every key it touches (KEYS): while the slot moves
// (resharding), Redis runs a script only where all of them are, and answers TRYAGAIN otherwise
// (split between the two nodes, or one missing on both: a key that does not exist counts), so a
// script never starts a second copy of a key on the target.
//
// Every Lua → Redis call costs about as much as the command itself, so the publish script takes
// a batch of events: the tenant's state is read (TIME, HMGET) and written (HSET) once per batch,
// the batch goes to live subscribers as one message, and each event costs three calls (HGET,
// HSETNX, XADD). The rarer work is batched too. History is exact *logically* (both scripts check the window themselves) and
// trimmed *physically* every TRIM_EVERY publishes; by bytes (history.maxBytes) it is trimmed on
// the publish that passes the limit, from a running byte offset kept in meta and in each entry; the keys' TTLs are refreshed about once per
// history age, not on every publish; de-duplication ids live in generations of `maxEvents` ids,
// so the ids of old events are dropped a whole generation at a time instead of one by one.
//
// Stream entry ids are `<seq>-<publish time in ms>`: entries are looked up by sequence number,
// and the time needed for the age limit comes with the id, without reading the entry's fields.
// Entry fields: e = event JSON, i = event id.
//
// A cursor carries the publish time of its entry (base 36) after the seq, `<epoch>:<seq>.<time>`:
// a Redis restored from an older snapshot, or a failover that lost the last writes, keeps the
// epoch and gives the lost sequence numbers to new events, and the time tells them apart.

/** History is trimmed every this many publishes of a tenant. */
const TRIM_EVERY = 32;

/**
 * Lua: a non-negative integer (a time in ms) in base 36, as JavaScript's `toString(36)` writes
 * it: a cursor's verifier. Plain arithmetic, exact below 2^53 (no `%x`, whose width is the
 * platform's long).
 */
const base36Lua = `
local function calltrack_base36(n)
  local text = ''
  repeat
    local digit = n % 36
    text = string.sub('0123456789abcdefghijklmnopqrstuvwxyz', digit + 1, digit + 1) .. text
    n = (n - digit) / 36
  until n == 0
  return text
end
`;

/** Stored under the empty field of each id generation (no event id is empty); see below. */
const hashTableMarker = 'calltrack: a value longer than 64 bytes keeps this hash a hash table';

/** What the publish script needs besides the event: fixed per bus, so written into the script. */
export interface RedisPublishSettings {
  maxEvents: number;
  maxAgeMs: number;
  /** Most bytes of event JSON kept per tenant (the newest event always is). */
  maxBytes: number;
  metaTtlMs: number;
  /** `PUBLISH` (classic pub/sub) or `SPUBLISH` (sharded). */
  command: 'PUBLISH' | 'SPUBLISH';
  /** Report whether the tenant still has to be registered for all-tenants subscribers. */
  register: boolean;
}

/** How long a tenant's meta key outlives its last publish: at least twice the history's age. */
function metaTtlMsOf(settings: RedisPublishSettings): number {
  return Math.max(settings.metaTtlMs, 2 * settings.maxAgeMs);
}

/**
 * Lua functions publishing events of one tenant, atomically each: de-duplicate by event id,
 * assign the next sequence number of the tenant's stream, append to the bounded history and
 * publish to live subscribers. A script of its own, or a piece of a larger one on the same
 * tenant (one hash slot):
 *
 * - `calltrack_open(keys, first)` reads the tenant's state once; `keys[first ..]` are the keys
 *   of `redisBusKeys(…).script` (meta, stream, the two id generations), which the calling script
 *   declares (the channel is named after the meta key);
 * - `calltrack_publish(tenant, json, id)` publishes one event and returns its seq (for a
 *   duplicate the first copy's), duplicate (0|1), register (0|1), and the publish time (ms) of
 *   the entry at that seq (the cursor's verifier);
 * - `calltrack_close(tenant)` writes the state back, once for any number of events.
 *
 * Opening and closing once per batch keeps the per-event path to three Redis calls (HGET,
 * HSETNX, XADD); live subscribers get the whole batch in one message when it closes. The settings are written into the source, so each call passes only the
 * events (every argument costs on both sides of the connection).
 *
 * Meta hash fields: epoch, seq (the top), at (the top's publish time, in ms: its cursor's verifier
 * outlives the stream), gen (ids per id generation: maxEvents when the epoch starts, raised when
 * maxEvents is, never lowered), exp (when the stream and the current id generation expire at the
 * earliest, in ms), reg (1 once the tenant is registered; 0 once that registration is due for
 * renewal, at each refresh of the TTLs), bytes (the bytes of event JSON published in the epoch: the
 * next entry's offset), tb (the offset of the oldest entry held, or less: see
 * calltrack_trim_bytes), ts and tt (seq and publish time of the newest entry the byte limit
 * dropped). Entry fields: e (JSON), i (event id), b (the entry's byte offset).
 *
 * Id generation n lives in key `ids:<n mod 2>`: fixed names, so that the calling script can
 * declare them. A generation's key is emptied when its first event is published (it held the
 * generation before the previous one, all of whose events left history). An id found in either
 * key counts only when the stream entry at its seq is still in the window and carries that id, so
 * what a key holds beyond its generation (ids of an earlier epoch, or left by an older version of
 * this script) is never taken for a duplicate.
 *
 * A command that fails (a key of the wrong type; formerly a Cluster slot being migrated, which
 * declaring every key now keeps out of the script) has no rollback. Every command that may fail
 * runs before anything of its event is written (or is undone, or harmless): the batch stops
 * there, what was appended is closed as usual, and `calltrack_close` raises an error.
 */
export function redisPublishFunctions(settings: RedisPublishSettings): string {
  const int = (name: string, value: number): number => {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`${name} must be a positive integer`);
    return value;
  };
  const maxEvents = int('maxEvents', settings.maxEvents);
  const maxAge = int('maxAgeMs', settings.maxAgeMs);
  const maxBytes = int('maxBytes', settings.maxBytes);
  const ttl = 2 * maxAge;
  int('metaTtlMs', settings.metaTtlMs);
  const metaTtl = metaTtlMsOf(settings);
  return `${base36Lua}
-- The event id a stream entry carries (field i), or nil.
local function calltrack_entry_id(entry)
  local fields = entry[2]
  for index = 1, #fields, 2 do
    if fields[index] == 'i' then return fields[index + 1] end
  end
  return nil
end

-- Is the stream entry at this seq (still there) the event with this id?
local function calltrack_entry_is(stream, seq, id)
  local entry = redis.call('XRANGE', stream, seq, seq)[1]
  return entry ~= nil and calltrack_entry_id(entry) == id
end

local function calltrack_open(keys, first)
  local meta = keys[first]
  local clock = redis.call('TIME')
  local t = {
    meta = meta, base = string.sub(meta, 1, -5), stream = keys[first + 1],
    -- Id generation n is in ids[n % 2 + 1].
    ids = { keys[first + 2], keys[first + 3] },
    now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000),
    messages = {},
  }
  local state = redis.call('HMGET', meta, 'epoch', 'seq', 'gen', 'exp', 'reg', 'bytes', 'tb')
  t.epoch, t.top, t.size = state[1], tonumber(state[2]), tonumber(state[3])
  t.expires, t.registered, t.written = tonumber(state[4]) or 0, state[5] == '1', t.top
  -- Byte offsets: bytes = of every event of the epoch, tb = at the oldest entry held (at most).
  t.bytes, t.tb = tonumber(state[6]) or 0, tonumber(state[7]) or 0
  if not t.epoch or not t.size then
    -- No stream (the first publish, or Redis lost its data), or one an earlier version of this
    -- script wrote (no id generations): a new epoch starts, named after the time, so it
    -- differs from any epoch this tenant had before.
    t.epoch = string.format('%x%05x', tonumber(clock[1]), tonumber(clock[2]))
    t.top, t.size, t.expires, t.written = 0, ${maxEvents}, 0, -1
    t.bytes, t.tb = 0, 0
    redis.call('DEL', t.stream, t.ids[1], t.ids[2])
    redis.call('HDEL', meta, 'ts', 'tt')
    redis.call('HSET', meta, 'epoch', t.epoch, 'gen', t.size, 'bytes', 0, 'tb', 0)
  end
  if t.size < ${maxEvents} then
    -- history.maxEvents was raised: generations of the old size would drop ids still in the
    -- larger window. Go on with the new size; the ids of the old current and previous generations
    -- (those still kept: both keys) go into one key, the one the new size's lookups read as
    -- current, or as previous when the next publish starts a generation (which empties its key).
    -- Generations never shrink: a lowered maxEvents keeps the larger ones, which hold more than
    -- its window (a process with the old, lower setting during a rolling change does not switch
    -- back).
    local next_generation = math.floor((t.top + 1) / ${maxEvents})
    if t.top + 1 == next_generation * ${maxEvents} then next_generation = next_generation - 1 end
    local into = t.ids[next_generation % 2 + 1]
    local from = t.ids[(next_generation + 1) % 2 + 1]
    -- An id may be in both keys with different seqs (published again after it left a smaller
    -- window): keep the seq whose entry is that event, of two such the newer, else the copy
    -- forgets the one still in the window. Stale seqs (another epoch's) may be larger.
    local held = {}
    local fields = redis.call('HGETALL', into)
    for index = 1, #fields, 2 do held[fields[index]] = fields[index + 1] end
    fields = redis.call('HGETALL', from)
    local copied = {}
    for index = 1, #fields, 2 do
      local id, seq = fields[index], fields[index + 1]
      local other = held[id]
      local take = other == nil
      -- (Values that are no seq, such as the hash table marker's, are left as they are.)
      if not take and other ~= seq and tonumber(seq) and tonumber(other)
        and calltrack_entry_is(t.stream, seq, id) then
        take = tonumber(seq) > tonumber(other) or not calltrack_entry_is(t.stream, other, id)
      end
      if take then
        copied[#copied + 1] = id
        copied[#copied + 1] = seq
      end
    end
    -- unpack has a limit on how many values it returns.
    for first = 1, #copied, 1000 do
      redis.call('HSET', into, unpack(copied, first, math.min(first + 999, #copied)))
    end
    redis.call('PEXPIRE', into, ${ttl})
    t.size = ${maxEvents}
    redis.call('HSET', meta, 'gen', t.size)
  end
  t.time = '-' .. t.now
  -- Every entry of this call gets this publish time: it ends each live cursor as its verifier.
  t.verifier = '.' .. calltrack_base36(t.now)
  return t
end

-- A command that may fail (a key of the wrong type; or, for a caller that did not declare every
-- key, one a Cluster slot being migrated has moved): redis.pcall, so that the batch stops there
-- with nothing half-written. Returns the reply, or nil after recording the failure in t.failed.
local function calltrack_try(t, ...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    t.failed = reply.err
    return nil
  end
  return reply
end

-- Is the event with this id and seq still in history (the newest maxEvents, younger than
-- maxAge)? Returns its publish time when it is, else nil. The entry's id is checked: an id key
-- may hold ids of another epoch (see calltrack_open), whose seqs name other events now.
local function calltrack_in_window(t, seq, id)
  if seq <= t.top - ${maxEvents} then return nil end
  local entries = calltrack_try(t, 'XRANGE', t.stream, seq, seq)
  local entry = entries and entries[1]
  if not entry then return nil end
  if calltrack_entry_id(entry) ~= id then return nil end
  local dash = string.find(entry[1], '-', 1, true)
  local at = tonumber(string.sub(entry[1], dash + 1))
  if at >= t.now - ${maxAge} then return at end
  return nil
end

-- Drops the oldest entries until the rest hold at most maxBytes of event JSON; never the newest.
-- Each entry carries its byte offset (field b: the bytes of the epoch's events before it), so
-- what is held is t.bytes minus the oldest entry's offset; t.tb is that offset, or less after a
-- trim by count or age (which does not read what it drops), and is made exact here. Meta keeps
-- the newest dropped entry's seq and publish time (ts, tt): a reader whose cursor names it
-- checks it against them, and resumes with the entry after it.
local function calltrack_trim_bytes(t)
  local start, dropped, dropped_at = '-', nil, nil
  while t.bytes - t.tb > ${maxBytes} do
    local entry = redis.call('XRANGE', t.stream, start, '+', 'COUNT', 1)[1]
    if not entry then break end
    local dash = string.find(entry[1], '-', 1, true)
    local seq = tonumber(string.sub(entry[1], 1, dash - 1))
    if seq >= t.top then break end
    local before, size
    local fields = entry[2]
    for index = 1, #fields, 2 do
      if fields[index] == 'b' then before = tonumber(fields[index + 1])
      elseif fields[index] == 'e' then size = #fields[index + 1] end
    end
    if before and t.bytes - before <= ${maxBytes} then
      t.tb = before
      break
    end
    -- (An entry without an offset, written by an earlier version, is dropped uncounted.)
    if before then t.tb = before + (size or 0) end
    dropped, dropped_at = seq, string.sub(entry[1], dash + 1)
    start = seq + 1
  end
  if dropped then
    redis.call('XTRIM', t.stream, 'MINID', dropped + 1)
    redis.call('HSET', t.meta, 'ts', dropped, 'tt', dropped_at)
  end
end

local function calltrack_publish(t, json, id)
  -- After a failure the rest of the batch is not published (calltrack_close raises an error).
  if t.failed then return 0, 0, 0, t.now end
  local seq = t.top + 1
  local generation = math.floor(seq / t.size)
  if generation ~= t.generation then
    t.generation = generation
    t.current = t.ids[generation % 2 + 1]
    t.previous = t.ids[(generation + 1) % 2 + 1]
  end
  local current = t.current
  -- Until the XADD, a failing command has written nothing of this event (the DEL of a
  -- generation that left history aside); after it, only keys just written and meta are touched.
  local earlier = calltrack_try(t, 'HGET', t.previous, id)
  if t.failed then return 0, 0, 0, t.now end
  if earlier then
    local at = calltrack_in_window(t, tonumber(earlier), id)
    if t.failed then return 0, 0, 0, t.now end
    if at then return tonumber(earlier), 1, 0, at end
  end
  if seq == generation * t.size then
    -- The generation's first event: its key holds the generation before the previous one, all
    -- of whose events left history (the window ends in the previous generation).
    redis.call('DEL', current)
  end
  local added = calltrack_try(t, 'HSETNX', current, id, seq)
  if t.failed then return 0, 0, 0, t.now end
  local existing
  if added == 0 then
    existing = redis.call('HGET', current, id)
    local at = calltrack_in_window(t, tonumber(existing), id)
    if t.failed then return 0, 0, 0, t.now end
    if at then return tonumber(existing), 1, 0, at end
    redis.call('HSET', current, id, seq)
  end

  calltrack_try(t, 'XADD', t.stream, seq .. t.time, 'e', json, 'i', id, 'b', t.bytes)
  if t.failed then
    -- Not appended: the id must not name a seq another event will get.
    if existing then redis.call('HSET', current, id, existing) else redis.call('HDEL', current, id) end
    return 0, 0, 0, t.now
  end
  t.top = seq
  t.bytes = t.bytes + #json
  -- A new id generation: its key gets the TTL and the hash table marker below.
  if seq == generation * t.size then t.expires = 0 end
  if t.expires < t.now + ${maxAge} then
    -- Keep every key alive for at least maxAge after this publish; refreshed about once per
    -- maxAge, and when a generation starts.
    redis.call('PEXPIRE', t.stream, ${ttl})
    -- A value longer than hash-max-listpack-value (64 by default) makes the hash a hash table
    -- right away: inserting into a listpack of a hundred ids costs several times more.
    redis.call('HSET', current, '', '${hashTableMarker}')
    redis.call('PEXPIRE', current, ${ttl})
    -- The other id key too, created before its generation starts (a young tenant): a Cluster
    -- slot being migrated refuses a script one of whose declared keys is missing (TRYAGAIN) for
    -- the whole move. Two commands per refresh, none per event; at its generation's start the
    -- key is emptied as before.
    redis.call('HSET', t.previous, '', '${hashTableMarker}')
    redis.call('PEXPIRE', t.previous, ${ttl})
    redis.call('PEXPIRE', t.meta, ${metaTtl})
    t.expires = t.now + ${ttl}
    t.refreshed = true
    if ${settings.register ? 'true' : 'false'} and t.registered then
      -- Register again too: the registry (on another node) may have lost the tenant, a node
      -- that restarted empty, a failover that lost the write, an eviction.
      t.registered, t.renewing = false, true
    end
  end

  if seq % ${TRIM_EVERY} == 0 then
    -- Drop what left the window, by count and by age from the oldest entry on, but the newest
    -- entry that left it: a reader resuming right after it checks that it is the entry its
    -- cursor names.
    local keep_from = seq - ${maxEvents}
    local cutoff = t.now - ${maxAge}
    -- The second oldest: the oldest may be the one kept, and only a second one is to drop.
    local oldest = redis.call('XRANGE', t.stream, '-', '+', 'COUNT', 2)[2]
    if oldest then
      local dash = string.find(oldest[1], '-', 1, true)
      if tonumber(string.sub(oldest[1], dash + 1)) < cutoff then
        for _, entry in ipairs(redis.call('XRANGE', t.stream, '-', '+', 'COUNT', ${TRIM_EVERY})) do
          dash = string.find(entry[1], '-', 1, true)
          if tonumber(string.sub(entry[1], dash + 1)) >= cutoff then break end
          keep_from = math.max(keep_from, tonumber(string.sub(entry[1], 1, dash - 1)))
        end
      end
    end
    if keep_from > 1 then redis.call('XTRIM', t.stream, 'MINID', keep_from) end
  end
  if t.bytes - t.tb > ${maxBytes} then calltrack_trim_bytes(t) end

  -- Live subscribers get the batch in one message at the end: a header line (the format's
  -- version, the epoch and the batch's first seq, which every later version keeps, so a reader
  -- that cannot read the rest knows which history to read), then lines cursor, JSON, cursor, …
  -- (JSON text never holds a raw line break).
  local messages = t.messages
  if #messages == 0 then messages[1] = 'v1 ' .. t.epoch .. ' ' .. seq end
  messages[#messages + 1] = t.epoch .. ':' .. seq .. t.verifier
  messages[#messages + 1] = json
  if ${settings.register ? 'true' : 'false'} and not t.registered then return seq, 0, 1, t.now end
  return seq, 0, 0, t.now
end

local function calltrack_close(t)
  if #t.messages > 0 then
    redis.call('${settings.command}', t.base .. 'events', table.concat(t.messages, '\\n'))
  end
  -- The top changed only by publishing in this call, so its publish time is now.
  if t.renewing then
    -- reg 0: registered before, to be renewed (a publish until it is says so).
    redis.call('HSET', t.meta, 'seq', t.top, 'exp', t.expires, 'at', t.now, 'reg', 0,
      'bytes', t.bytes, 'tb', t.tb)
  elseif t.refreshed then
    redis.call('HSET', t.meta, 'seq', t.top, 'exp', t.expires, 'at', t.now,
      'bytes', t.bytes, 'tb', t.tb)
  elseif t.top ~= t.written then
    if t.top > 0 then
      redis.call('HSET', t.meta, 'seq', t.top, 'at', t.now, 'bytes', t.bytes, 'tb', t.tb)
    else
      redis.call('HSET', t.meta, 'seq', t.top)
    end
  end
  if t.failed then
    -- What was appended is published and counted; the rest was not written at all. The caller
    -- answers the batch as unavailable, and a retry finds the appended events as duplicates.
    error({ err = 'CALLTRACK_UNAVAILABLE publish stopped (' .. tostring(t.failed) .. '); ' ..
      (t.top - (t.written < 0 and 0 or t.written)) .. ' events of this call were published' })
  end
end
`;
}

/**
 * The publish script, for a batch of events of one tenant: KEYS `redisBusKeys(…).script` (meta,
 * stream, id generations); ARGV event JSON, event id,
 * event JSON, event id, … Publishes them in order, each on its own (a duplicate in the batch is
 * a duplicate). Returns { epoch, register (0|1), publish time (ms) of this call's entries, then
 * per event its seq, or for a duplicate minus the first copy's seq followed by that entry's
 * publish time }: numbers cost Redis less to return than strings.
 */
export function redisPublishScript(settings: RedisPublishSettings): string {
  return `${redisPublishFunctions(settings)}
local tenant = calltrack_open(KEYS, 1)
local results = { tenant.epoch, 0, tenant.now }
for index = 1, #ARGV, 2 do
  local seq, duplicate, register, at = calltrack_publish(tenant, ARGV[index], ARGV[index + 1])
  if register == 1 then results[2] = 1 end
  if duplicate == 1 then
    results[#results + 1] = -seq
    results[#results + 1] = at
  else
    results[#results + 1] = seq
  end
end
calltrack_close(tenant)
return results
`;
}

/**
 * Where a tenant's stream is: KEYS `redisBusKeys(…).script`, as the publish script. Opens the stream as a publish does (a new epoch when
 * there is none) and writes nothing else. Returns { epoch, top seq, the top's publish time in ms
 * ('' for none or unknown) }. A stream made here gets the meta key's TTL, which the first publish
 * then keeps.
 */
export function redisPositionScript(settings: RedisPublishSettings): string {
  return `${redisPublishFunctions(settings)}
local tenant = calltrack_open(KEYS, 1)
calltrack_close(tenant)
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ${metaTtlMsOf(settings)}) end
local at = ''
if tenant.top > 0 then
  -- Meta keeps it since this version; before, only the entry's id did.
  at = redis.call('HGET', KEYS[1], 'at')
  if not at then
    local entry = redis.call('XRANGE', tenant.stream, tenant.top, tenant.top)[1]
    at = entry and string.sub(entry[1], string.find(entry[1], '-', 1, true) + 1) or ''
  end
end
return { tenant.epoch, tenant.top, at }
`;
}

/**
 * Reads history after a sequence number, all or nothing (read-only).
 *
 * KEYS: meta, stream. ARGV: after seq ('' = only report the position), limit, maxAgeMs,
 * maxEvents, the verifier of the entry the reader had at `after` ('' = unknown: not checked).
 * Returns { epoch ('' when the tenant has no stream), top seq, status, the top's publish time in
 * ms ('' when unknown), id1, json1, id2, ... } (entry ids: `<seq>-<publish time>`) with status
 * `ok` (entries follow, possibly none), `gap` (some wanted entry, or the one at `after` that the
 * verifier names, has left history) or `diverged` (the entry at `after` is another than the
 * reader had: the stream went back and was written again, e.g. after a restore from an older
 * snapshot or a failover that lost the last writes).
 */
export const readScript = `${base36Lua}
local meta, stream = KEYS[1], KEYS[2]
local state = redis.call('HMGET', meta, 'epoch', 'seq', 'at', 'ts', 'tt')
local epoch = state[1]
if not epoch then return { '', 0, 'ok', '' } end
local top = tonumber(state[2] or '0')
local top_at = state[3] or ''
if ARGV[1] == '' then return { epoch, top, 'ok', top_at } end
local after = tonumber(ARGV[1])
if ARGV[5] ~= '' and after >= 1 and after <= top then
  -- Is the entry at this position the one the reader had? Its publish time says.
  local at
  local seen = redis.call('XRANGE', stream, after, after)[1]
  if seen then
    at = tonumber(string.sub(seen[1], string.find(seen[1], '-', 1, true) + 1))
  elseif after == top and top_at ~= '' then
    at = tonumber(top_at)
  elseif state[4] and tonumber(state[4]) == after then
    -- The newest entry the byte limit dropped: meta kept its publish time.
    at = tonumber(state[5])
  end
  if not at then return { epoch, top, 'gap', top_at } end
  if calltrack_base36(at) ~= ARGV[5] then return { epoch, top, 'diverged', top_at } end
end
if after >= top then return { epoch, top, 'ok', top_at } end
if after + 1 <= top - tonumber(ARGV[4]) then return { epoch, top, 'gap', top_at } end

local clock = redis.call('TIME')
local cutoff = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) - tonumber(ARGV[3])
local entries = redis.call('XRANGE', stream, after + 1, '+', 'COUNT', tonumber(ARGV[2]))
local first = entries[1]
if not first then return { epoch, top, 'gap', top_at } end
local dash = string.find(first[1], '-', 1, true)
if tonumber(string.sub(first[1], 1, dash - 1)) ~= after + 1
  or tonumber(string.sub(first[1], dash + 1)) < cutoff then
  return { epoch, top, 'gap', top_at }
end
-- Later entries are younger than the first, so all of them are in the window too.
local result = { epoch, top, 'ok', top_at }
for _, entry in ipairs(entries) do
  result[#result + 1] = entry[1]
  result[#result + 1] = entry[2][2]
end
return result
`;
