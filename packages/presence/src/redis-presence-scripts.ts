import { refuseOutOfMemoryLua } from '@calltrack/redis-script';

/**
 * The presence rules in Lua: the same steps as `applyPresenceOperation`, `settlePresenceUser`,
 * `claimMessageDelivery` and `sweepPresenceTenant`, on this layout (base `<prefix>:{tenant}:`):
 *
 * - `u:<user>` hash: `s` status, `st` state, `sa` when the state was set, `v` version, `e`
 *   epoch, `sn` since, `q` last message sequence, `qd` messages dropped, `qh` "the queue may
 *   hold messages", `dl` delivery lease (the claim's token); per connection `c:<id>` (timing:
 *   `lastSeen|expiresAt|idleAt|connectedAt|flags`, flags `a` away, `l` leaving), `d:<id>`
 *   (data JSON) and `k:<id>` (the token of the connect that registered its life, if it had one;
 *   a field of its own, so a timing an earlier version wrote or reads keeps its form).
 * - `due` sorted set: user → the time their status may next change (never later than the true
 *   deadline: a heartbeat only pushes deadlines back, so it leaves the score alone);
 * - `online`, `away` sets: users by decided status;
 * - `outbox` sorted set (event id → lease deadline) and `outbox:t` hash (event id → transition
 *   JSON): transitions decided and not confirmed;
 * - `q:<user>` list: `seq|sentAt|messageId|body`, oldest first;
 * - `drains` sorted set: user → deadline of their delivery claim;
 * - `listing` hash: `n` the highest listing number an operation brought, `w` the watermark: an
 *   operation whose listing number is not above it is refused (see {@link listTenantScript}).
 *
 * Every key of a call shares the tenant's hash tag, so each script runs in one slot. Times come
 * from the caller's clock (ARGV), never from the server.
 *
 * ARGV of both scripts: [1] kind, [2] at, [3] the settings, packed (`ttl,awayAfter,leaveDelay,
 * lease,retention,maxConnections,queueMax,queueAge,batch`: one argument, not nine, because a
 * heartbeat's cost is mostly its arguments), [4] base; then the script's own.
 */
const prelude = `
local kind = ARGV[1]
local at = tonumber(ARGV[2])
local ttl, awayAfter = string.match(ARGV[3], '^(%d+),(%d+),')
ttl = tonumber(ttl)
awayAfter = tonumber(awayAfter)
local base = ARGV[4]
local leaveDelay, lease, retention, maxConnections, queueMax, queueAge, batch
-- The rest of the settings: read by every path but a heartbeat's fast one.
local function readSettings()
  local values = { string.match(ARGV[3],
    '^%d+,%d+,(%d+),(%d+),(%d+),(%d+),(%d+),(%d+),(%d+)$') }
  leaveDelay, lease, retention = tonumber(values[1]), tonumber(values[2]), tonumber(values[3])
  maxConnections, queueMax = tonumber(values[4]), tonumber(values[5])
  queueAge, batch = tonumber(values[6]), tonumber(values[7])
end

local function fmt(number) return string.format('%d', number) end

local function parseConnection(id, timing)
  local lastSeen, expiresAt, idleAt, connectedAt, flags =
    string.match(timing, '^(%d+)|(%d+)|(%d+)|(%d+)|(%a*)$')
  return { id = id, lastSeen = tonumber(lastSeen), expiresAt = tonumber(expiresAt),
    idleAt = tonumber(idleAt), connectedAt = tonumber(connectedAt),
    away = string.find(flags, 'a', 1, true) ~= nil,
    leaving = string.find(flags, 'l', 1, true) ~= nil }
end

local function formatConnection(c)
  local flags = (c.away and 'a' or '') .. (c.leaving and 'l' or '')
  return fmt(c.lastSeen) .. '|' .. fmt(c.expiresAt) .. '|' .. fmt(c.idleAt) .. '|' ..
    fmt(c.connectedAt) .. '|' .. flags
end

local function refresh(c)
  c.lastSeen = at
  c.expiresAt = at + ttl
  c.idleAt = at + awayAfter
end

local function loadUser(id, key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local user = { id = id, key = key, fields = {}, connections = {}, data = {} }
  for i = 1, #flat, 2 do
    local field, value = flat[i], flat[i + 1]
    local prefix = string.sub(field, 1, 2)
    if prefix == 'c:' then
      local connectionId = string.sub(field, 3)
      user.connections[connectionId] = parseConnection(connectionId, value)
    elseif prefix == 'd:' then
      user.data[string.sub(field, 3)] = value
    else
      user.fields[field] = value
    end
  end
  return user
end

-- A new record's version starts at its epoch (see createPresenceUserState).
local function newUser(id, key)
  redis.call('HSET', key, 's', 'offline', 'v', fmt(at), 'e', fmt(at))
  return { id = id, key = key, fields = { s = 'offline', v = fmt(at), e = fmt(at) },
    connections = {}, data = {} }
end

local function saveConnection(user, c)
  redis.call('HSET', user.key, 'c:' .. c.id, formatConnection(c))
end

local function removeConnection(user, id)
  redis.call('HDEL', user.key, 'c:' .. id, 'd:' .. id, 'k:' .. id)
  user.connections[id] = nil
  user.data[id] = nil
  user.fields['k:' .. id] = nil
end

-- The token of the connect that registered the connection's life (see setToken in
-- apply-presence-operation.ts); in user.fields, as loadUser reads it.
local function setToken(user, id, token)
  local field = 'k:' .. id
  if token == nil then
    if user.fields[field] ~= nil then redis.call('HDEL', user.key, field) end
  else
    redis.call('HSET', user.key, field, token)
  end
  user.fields[field] = token
end

local function setData(user, id, data)
  if data == nil then
    if user.data[id] ~= nil then redis.call('HDEL', user.key, 'd:' .. id) end
  else
    redis.call('HSET', user.key, 'd:' .. id, data)
  end
  user.data[id] = data
end

-- The user's part of an event id (see presence-event-id.ts): an id over 160 characters keeps its
-- first 120 (121 when a character past U+FFFF straddles the cut), '~' and its SHA-1: never an id
-- kept as it is. Characters are counted as the engine counts them, in UTF-16 units: one per
-- character, two for one of four UTF-8 bytes; counted in bytes, a non-ASCII id of 81 to 160
-- characters was shortened here and kept in the engine.
local function userPart(id)
  if #id <= 160 then return id end -- never more units than bytes
  local units, kept = 0, nil
  for i = 1, #id do
    local byte = string.byte(id, i)
    if byte < 128 or byte >= 192 then -- a character starts here
      if kept == nil and units >= 120 then kept = i - 1 end
      units = units + (byte >= 240 and 2 or 1)
    end
  end
  if units <= 160 then return id end
  return string.sub(id, 1, kept) .. '~' .. redis.sha1hex(id)
end

local function recordOf(user)
  local connections = {}
  for id, c in pairs(user.connections) do
    connections[#connections + 1] = { connectionId = id, connectedAt = c.connectedAt,
      lastSeenAt = c.lastSeen, expiresAt = c.expiresAt, idleAt = c.idleAt, away = c.away,
      leaving = c.leaving, data = user.data[id] }
  end
  return { userId = user.id, status = user.fields.s, state = user.fields.st,
    stateAt = tonumber(user.fields.sa),
    since = tonumber(user.fields.sn), version = tonumber(user.fields.v),
    epoch = tonumber(user.fields.e), connections = connections }
end

-- Drops expired connections, computes the status, decides at most one transition (into the
-- outbox), records the next deadline and the record's retention. Returns status, transition.
local function settle(user, explicit, write)
  for id, c in pairs(user.connections) do
    if c.expiresAt <= at then removeConnection(user, id) end
  end
  local status = 'offline'
  local nextDeadline = nil
  for _, c in pairs(user.connections) do
    local active = (not c.away) and c.idleAt > at
    if active then status = 'online' elseif status == 'offline' then status = 'away' end
    if nextDeadline == nil or c.expiresAt < nextDeadline then nextDeadline = c.expiresAt end
    if active and c.idleAt < nextDeadline then nextDeadline = c.idleAt end
  end
  if nextDeadline == nil then
    redis.call('ZREM', base .. 'due', user.id)
  else
    redis.call('ZADD', base .. 'due', nextDeadline, user.id)
  end
  local previous = user.fields.s or 'offline'
  local transition = nil
  if status ~= previous or explicit then
    local version = (tonumber(user.fields.v) or 0) + 1
    user.fields.v = fmt(version)
    local eventType = 'presence.updated'
    if status ~= previous then
      eventType = 'presence.' .. status
      user.fields.s = status
      user.fields.sn = fmt(at)
      redis.call('HSET', user.key, 's', status, 'sn', fmt(at), 'v', fmt(version))
      if previous ~= 'offline' then redis.call('SREM', base .. previous, user.id) end
      if status ~= 'offline' then redis.call('SADD', base .. status, user.id) end
    else
      redis.call('HSET', user.key, 'v', fmt(version))
    end
    local eventId = 'presence:' .. userPart(user.id) .. ':' .. user.fields.e .. ':' .. fmt(version)
    transition = cjson.encode({ eventId = eventId, type = eventType, userId = user.id,
      previousStatus = previous, at = at, record = recordOf(user) })
    redis.call('ZADD', base .. 'outbox', at + lease, eventId)
    redis.call('HSET', base .. 'outbox:t', eventId, transition)
  end
  if status ~= 'offline' then
    redis.call('PERSIST', user.key)
  elseif write or status ~= previous then
    redis.call('PEXPIRE', user.key, retention)
  end
  return status, transition
end

local function releaseDelivery(user)
  if user.fields.dl ~= nil then
    redis.call('HDEL', user.key, 'dl')
    redis.call('ZREM', base .. 'drains', user.id)
    user.fields.dl = nil
  end
end

-- Drops messages older than the age limit from the head of the queue. Returns how many.
local function dropExpired(user, queueKey)
  local dropped = 0
  while true do
    local head = redis.call('LINDEX', queueKey, 0)
    if not head then break end
    local sentAt = tonumber(string.match(head, '^%d+|(%d+)|'))
    if sentAt + queueAge > at then break end
    redis.call('LPOP', queueKey)
    dropped = dropped + 1
  end
  if dropped > 0 then redis.call('HINCRBY', user.key, 'qd', dropped) end
  return dropped
end

-- Whether a message published now reaches the user: a connection that is not leaving (one in
-- its leave delay counts for the status, but nothing is there to receive). After settle.
local function reachable(user)
  for _, c in pairs(user.connections) do
    if not c.leaving then return true end
  end
  return false
end

-- Claims the oldest messages for delivery when the user is reachable and no claim runs.
-- Returns the claim ({ token, messages }) or nil, and how many messages were too old.
local function claim(user)
  if not reachable(user) then
    releaseDelivery(user)
    return nil, 0
  end
  local held = tonumber(user.fields.dl)
  if held ~= nil and held > at then return nil, 0 end
  if user.fields.qh == nil then
    releaseDelivery(user)
    return nil, 0
  end
  local queueKey = base .. 'q:' .. user.id
  local dropped = dropExpired(user, queueKey)
  local messages = redis.call('LRANGE', queueKey, 0, batch - 1)
  if #messages == 0 then
    releaseDelivery(user)
    redis.call('HDEL', user.key, 'qh')
    user.fields.qh = nil
    return nil, dropped
  end
  local token = at + lease
  user.fields.dl = fmt(token)
  redis.call('HSET', user.key, 'dl', fmt(token))
  redis.call('ZADD', base .. 'drains', token, user.id)
  return { fmt(token), messages }, dropped
end
`;

/**
 * The hot path, before anything else runs (no function of the prelude is even defined): a
 * heartbeat that cannot change the user's status (see `applyHeartbeatFastPath`: a connection not
 * leaving or expired, active of an online user or set away of an away user) only rewrites that
 * connection's timing (a heartbeat that asks for the record takes the full path). It leaves the
 * \`due\` score alone: the score may then be earlier than the true deadline, never later, and a
 * sweep that finds nothing due just records the right one.
 */
const heartbeatFastPath = `
if ARGV[1] == 'heartbeat' and ARGV[6] ~= '1' then
  local values = redis.call('HMGET', KEYS[1], 'c:' .. ARGV[7], 's')
  if not values[1] then return { 'missing' } end
  local expiresAt, connectedAt, flags =
    string.match(values[1], '^%d+|(%d+)|%d+|(%d+)|(%a*)$')
  if string.find(flags, 'l', 1, true) then return { 'missing' } end
  local at = tonumber(ARGV[2])
  if ((flags == '' and values[2] == 'online') or (flags == 'a' and values[2] == 'away')) and
      tonumber(expiresAt) > at then
    local ttl, awayAfter = string.match(ARGV[3], '^(%d+),(%d+),')
    redis.call('HSET', KEYS[1], 'c:' .. ARGV[7], ARGV[2] .. '|' ..
      string.format('%d', at + tonumber(ttl)) .. '|' ..
      string.format('%d', at + tonumber(awayAfter)) .. '|' .. connectedAt .. '|' .. flags)
    return { 'ok' }
  end
end
`;

/**
 * One operation on one user. KEYS[1] the user's hash; ARGV[5] the user id, ARGV[6] the read
 * flag ('1' returns the user's hash after the operation). Kind arguments from ARGV[7]: connect
 * (connection id, data or '', away '1'/'0', state to restore or '', when it was set or '',
 * token or ''), heartbeat (connection id), update (connection id, data or ''), away (connection
 * id, '1'/'0'), disconnect (connection id, immediate '1'/'0', token or ''), state (state), settle, send
 * (message id, body), ack (token, last sequence). Connect, state and send end with the tenant's
 * listing number the caller holds and '1' when the caller listed it right before this call (the
 * tenant's records need not know it yet), '0' when an earlier operation was accepted with it.
 * Returns { outcome, transition JSON or '', delivery token or '', delivery messages,
 * HGETALL of the user after the operation (with read) or {}, sequence or '', queued 0/1,
 * dropped, created 0/1 }, or { 'relist', watermark } (nothing done) when the caller must list
 * the tenant again above the watermark and retry.
 */
export const applyOperationScript = `${heartbeatFastPath}${prelude}
local userId = ARGV[5]
local read = ARGV[6] == '1'
local userKey = KEYS[1]

readSettings()
-- An operation that may create a user runs only under a listing the tenant's unlisting has not
-- covered (see listTenantScript), and one held from before comes from this tenant's records: a
-- listing unknown here (the records were lost) is renewed before anything is stored.
if kind == 'connect' or kind == 'state' or kind == 'send' then
  local number, fresh = tonumber(ARGV[#ARGV - 1]), ARGV[#ARGV] == '1'
  local listingKey = base .. 'listing'
  local listing = redis.call('HMGET', listingKey, 'n', 'w')
  local landed, watermark = tonumber(listing[1]), tonumber(listing[2]) or 0
  if number <= watermark or (not fresh and (landed == nil or number > landed)) then
    return { 'relist', fmt(watermark) }
  end
  if landed == nil or number > landed then
    redis.call('HSET', listingKey, 'n', fmt(number))
    redis.call('PERSIST', listingKey)
  end
end
local user = loadUser(userId, userKey)
local created = 0
local function ensureUser()
  if user == nil then
    user = newUser(userId, userKey)
    created = 1
  end
  return user
end
local function optional(value)
  if value == '' then return nil end
  return value
end
local function live(c)
  return c ~= nil and c.expiresAt > at and not c.leaving
end

local explicit = false
local mayClaim = true
if kind == 'connect' then
  local id = ARGV[7]
  local data = optional(ARGV[8])
  local away = ARGV[9] == '1'
  local token = optional(ARGV[12])
  local existing = user and user.connections[id]
  if existing ~= nil and existing.expiresAt > at then
    explicit = user.data[id] ~= data
    existing.leaving = false
    existing.away = away
    refresh(existing)
    saveConnection(user, existing)
    setData(user, id, data)
    setToken(user, id, token)
  else
    -- Every connection not expired counts, leaving ones too; the ones leaving longest make room
    -- (see makeRoom).
    local current, leaving = 0, {}
    if user ~= nil then
      for _, c in pairs(user.connections) do
        if c.expiresAt > at then
          current = current + 1
          if c.leaving then leaving[#leaving + 1] = c end
        end
      end
    end
    if current - #leaving >= maxConnections then return { 'limit' } end
    if current >= maxConnections then
      table.sort(leaving, function(a, b)
        if a.expiresAt ~= b.expiresAt then return a.expiresAt < b.expiresAt end
        return a.id < b.id
      end)
      for i = 1, current - maxConnections + 1 do removeConnection(user, leaving[i].id) end
    end
    ensureUser()
    local c = { id = id, connectedAt = at, away = away, leaving = false }
    refresh(c)
    user.connections[id] = c
    saveConnection(user, c)
    setData(user, id, data)
    setToken(user, id, token)
  end
  -- A state is never unset, so a record without one lost it; a record whose state was set
  -- before the one brought back was rebuilt by a connection that knew an older one. A state
  -- without a time only fills a record without one (see restoresState).
  local state, stateAt = optional(ARGV[10] or ''), tonumber(ARGV[11] or '')
  if state ~= nil and (user.fields.st == nil or (stateAt ~= nil and
      (user.fields.sa == nil or tonumber(user.fields.sa) < stateAt))) then
    explicit = explicit or user.fields.st ~= state
    user.fields.st = state
    redis.call('HSET', userKey, 'st', state)
    if stateAt == nil then
      user.fields.sa = nil
      redis.call('HDEL', userKey, 'sa')
    else
      user.fields.sa = fmt(stateAt)
      redis.call('HSET', userKey, 'sa', user.fields.sa)
    end
  end
elseif kind == 'heartbeat' then
  local c = user and user.connections[ARGV[7]]
  if c == nil or c.leaving then return { 'missing' } end
  -- Expired but not removed yet (a paused process): the connection comes back.
  if c.expiresAt <= at then c.connectedAt = at end
  refresh(c)
  saveConnection(user, c)
elseif kind == 'update' then
  local id = ARGV[7]
  local c = user and user.connections[id]
  if not live(c) then return { 'missing' } end
  local data = optional(ARGV[8])
  explicit = user.data[id] ~= data
  setData(user, id, data)
elseif kind == 'away' then
  local c = user and user.connections[ARGV[7]]
  if not live(c) then return { 'missing' } end
  c.away = ARGV[8] == '1'
  saveConnection(user, c)
elseif kind == 'disconnect' then
  local id = ARGV[7]
  local c = user and user.connections[id]
  if c == nil or c.expiresAt <= at then return { 'missing' } end
  -- The close of an earlier life of a reused connection id, arriving after it connected again.
  local token, stored = optional(ARGV[9]), user.fields['k:' .. id]
  if token ~= nil and stored ~= nil and stored ~= token then return { 'missing' } end
  if ARGV[8] == '1' or leaveDelay == 0 then
    removeConnection(user, id)
  elseif not c.leaving then
    c.leaving = true
    c.expiresAt = at + leaveDelay
    saveConnection(user, c)
  end
elseif kind == 'state' then
  ensureUser()
  explicit = user.fields.st ~= ARGV[7]
  user.fields.st = ARGV[7]
  user.fields.sa = fmt(at)
  redis.call('HSET', userKey, 'st', ARGV[7], 'sa', user.fields.sa)
elseif kind == 'settle' then
  if user == nil then return { 'ok' } end
elseif kind == 'send' then
  ensureUser()
elseif kind == 'ack' then
  if user == nil then return { 'ok' } end
  local queueKey = base .. 'q:' .. userId
  local last = tonumber(ARGV[8])
  while true do
    local head = redis.call('LINDEX', queueKey, 0)
    if not head or tonumber(string.match(head, '^(%d+)|')) > last then break end
    redis.call('LPOP', queueKey)
  end
  if user.fields.dl == ARGV[7] then releaseDelivery(user) else mayClaim = false end
else
  return redis.error_reply('unknown presence operation ' .. tostring(kind))
end

local _, transition = settle(user, explicit, kind ~= 'settle')
local sequence = ''
local queued = 0
local dropped = 0
if kind == 'send' then
  local queueKey = base .. 'q:' .. userId
  dropped = dropped + dropExpired(user, queueKey)
  sequence = redis.call('HINCRBY', userKey, 'q', 1)
  redis.call('RPUSH', queueKey, fmt(sequence) .. '|' .. fmt(at) .. '|' .. ARGV[7] .. '|' .. ARGV[8])
  local excess = redis.call('LLEN', queueKey) - queueMax
  if excess > 0 then
    redis.call('LPOP', queueKey, excess)
    redis.call('HINCRBY', userKey, 'qd', excess)
    dropped = dropped + excess
  end
  redis.call('PEXPIRE', queueKey, queueAge)
  redis.call('HSET', userKey, 'qh', '1')
  user.fields.qh = '1'
  if not reachable(user) then queued = 1 end
end
local delivery = nil
if mayClaim then
  local claimDropped
  delivery, claimDropped = claim(user)
  dropped = dropped + claimDropped
end
local record = {}
if read then record = redis.call('HGETALL', userKey) end
return { 'ok', transition or '', delivery and delivery[1] or '', delivery and delivery[2] or {},
  record, sequence, queued, dropped, created }
`;

/**
 * One sweep of one tenant. KEYS[1] the tenant's `due` set; ARGV[5] the limit. Claims expired
 * outbox entries again, then settles the users whose deadline or delivery claim has passed,
 * earliest first. Returns { transitions JSON[], { user id, token, messages }[], dropped,
 * more 0/1, idle 0/1 }: idle when nothing is left for a sweep (no connection, nothing in the
 * outbox, no delivery claim; offline users' records expire on their own).
 *
 * Out of memory it is refused before anything: its first write is often a delete (an expired
 * connection's), which Redis lets through, and then every write after it (the transition, the
 * outbox) went through too, with nobody able to publish what it decided. The check's key
 * (`oom-check`) is never written.
 */
export const sweepTenantScript = `${prelude}
${refuseOutOfMemoryLua("base .. 'oom-check'")}readSettings()
local limit = tonumber(ARGV[5])
local transitions = {}
local deliveries = {}
local dropped = 0
local more = 0

local expired = redis.call('ZRANGEBYSCORE', base .. 'outbox', '-inf', at, 'LIMIT', 0, limit + 1)
if #expired > limit then more = 1 end
for i = 1, math.min(#expired, limit) do
  local transition = redis.call('HGET', base .. 'outbox:t', expired[i])
  if transition then
    redis.call('ZADD', base .. 'outbox', at + lease, expired[i])
    transitions[#transitions + 1] = transition
  else
    redis.call('ZREM', base .. 'outbox', expired[i])
  end
end

local times = {}
local order = {}
for _, name in ipairs({ 'due', 'drains' }) do
  local entries = redis.call('ZRANGEBYSCORE', base .. name, '-inf', at, 'WITHSCORES', 'LIMIT', 0,
    limit + 1)
  if #entries > 2 * limit then more = 1 end
  for i = 1, #entries, 2 do
    local id, time = entries[i], tonumber(entries[i + 1])
    if times[id] == nil then
      order[#order + 1] = id
      times[id] = time
    elseif time < times[id] then
      times[id] = time
    end
  end
end
table.sort(order, function(a, b)
  if times[a] ~= times[b] then return times[a] < times[b] end
  return a < b
end)
if #order > limit then more = 1 end

for i = 1, math.min(#order, limit) do
  local id = order[i]
  local user = loadUser(id, base .. 'u:' .. id)
  if user == nil then
    redis.call('ZREM', base .. 'due', id)
    redis.call('ZREM', base .. 'drains', id)
  else
    local _, transition = settle(user, false, false)
    if transition then transitions[#transitions + 1] = transition end
    local delivery, claimDropped = claim(user)
    dropped = dropped + claimDropped
    if delivery then deliveries[#deliveries + 1] = { id, delivery[1], delivery[2] } end
  end
end
local idle = 0
if redis.call('EXISTS', base .. 'due', base .. 'outbox', base .. 'drains') == 0 then idle = 1 end
return { transitions, deliveries, dropped, more, idle }
`;

/**
 * Many heartbeats of one tenant, fast path only (see the apply script's): KEYS the users'
 * hashes, ARGV[1] at, ARGV[2] the packed settings, ARGV[3..] the connection ids, one per key.
 * Returns one reply per connection: for a refreshed one the user's state as `<set at>|<state>`
 * (`|<state>` when it came without a time, '' when none is set), which the connection keeps to
 * give back if the record is lost; else 1 missing (unknown or
 * leaving) or 2 needs the full rules (nothing changed). One flat array: a second one of states
 * cost about a quarter of the batch's rate at 256 in flight.
 */
export const heartbeatBatchScript = `
local at = tonumber(ARGV[1])
local ttl, awayAfter = string.match(ARGV[2], '^(%d+),(%d+),')
local timing = ARGV[1] .. '|' .. string.format('%d', at + tonumber(ttl)) .. '|' ..
  string.format('%d', at + tonumber(awayAfter)) .. '|'
local replies = {}
for i = 1, #KEYS do
  local field = 'c:' .. ARGV[i + 2]
  local values = redis.call('HMGET', KEYS[i], field, 's', 'st', 'sa')
  local reply = 1
  if values[1] then
    local expiresAt, connectedAt, flags =
      string.match(values[1], '^%d+|(%d+)|%d+|(%d+)|(%a*)$')
    if not string.find(flags, 'l', 1, true) then
      if ((flags == '' and values[2] == 'online') or (flags == 'a' and values[2] == 'away')) and
          tonumber(expiresAt) > at then
        redis.call('HSET', KEYS[i], field, timing .. connectedAt .. '|' .. flags)
        reply = values[3] and ((values[4] or '') .. '|' .. values[3]) or ''
      else
        reply = 2
      end
    end
  end
  replies[i] = reply
end
return replies
`;

/**
 * The chosen users' hashes, each kept only when its status is one asked for as of this step (a
 * user may have changed status since the ids were chosen from the status sets). KEYS[1] one of
 * the tenant's status sets (it routes the script to the tenant's slot); ARGV[1] base, ARGV[2] the
 * number n of statuses, ARGV[3 .. 2 + n] the statuses, then the user ids. Returns
 * { user id, HGETALL }[]. Reads only the hashes it is given: its cost is `limit`, not the tenant.
 */
export const listMembersScript = `
local base = ARGV[1]
local statusCount = tonumber(ARGV[2])
local wanted = {}
for i = 3, 2 + statusCount do wanted[ARGV[i]] = true end
local members = {}
for i = 3 + statusCount, #ARGV do
  local hash = redis.call('HGETALL', base .. 'u:' .. ARGV[i])
  for j = 1, #hash, 2 do
    if hash[j] == 's' then
      if wanted[hash[j + 1]] then members[#members + 1] = { ARGV[i], hash } end
      break
    end
  end
end
return members
`;

/**
 * Lists a tenant for the sweeper (KEYS[1] the tenants hash, `<prefix>:tenants`; ARGV[1] the
 * tenant, ARGV[2] a number the listing must exceed). Returns the listing number: one above every
 * number given before (field `{seq}`, which no tenant id can be) and above ARGV[2], and at least
 * Redis's clock in microseconds (`TIME`).
 *
 * A tenant's listing and its records live in different slots, so no one script can list or
 * unlist a tenant and read its records. The numbers keep the two in step:
 * - an operation that may create a user lists the tenant first (here), then runs carrying that
 *   number; the tenant's `listing` hash refuses it when the number is not above the watermark;
 * - unlisting reads the tenant's number here, raises the watermark to it in the tenant's slot
 *   only while nothing is left for a sweep there ({@link closeListingScript}), then removes the
 *   tenant only if its number did not change meanwhile ({@link unlistTenantScript}).
 * So an operation listed before the unlisting took the number is refused and lists again; one
 * listed after it changed the number, and the tenant stays listed.
 *
 * The clock keeps numbers rising when Redis loses `{seq}` (a restart without persistence): a
 * counter started again from 1 would give a tenant listed after the restart a number not above
 * the watermark a sweep raised before it, and that sweep, ending after the restart, would remove
 * the tenant while in use (the watermark itself was lost, so nothing refused the operation).
 * Numbers run ahead of the clock only by the listings given within one microsecond, so one given
 * after a restart is above every one given before it, unless Redis's clock went back across the
 * restart by more than the restart took: a sweep unlisting the tenant right then may then remove
 * it while in use, as with a counter. Microseconds since 1970 stay under 2^53 (exact in Lua's
 * numbers and through `%d`) until the year 2255. `redis.replicate_commands()` lets the script
 * write after `TIME` on a Redis 6.2 set to replicate scripts verbatim (it does nothing since 7).
 */
export const listTenantScript = `
redis.replicate_commands()
local time = redis.call('TIME')
local number = math.max((tonumber(redis.call('HGET', KEYS[1], '{seq}')) or 0) + 1,
  tonumber(ARGV[2]) + 1, tonumber(time[1]) * 1000000 + tonumber(time[2]))
local text = string.format('%d', number)
redis.call('HSET', KEYS[1], '{seq}', text, ARGV[1], text)
return text
`;

/**
 * First step of unlisting a tenant (KEYS[1] its `listing` hash; ARGV[1] base, ARGV[2] the
 * tenant's listing number, ARGV[3] how long to keep the hash): when nothing is left for a sweep,
 * raises the watermark to that number (and any the tenant saw), so that an operation listed
 * before it is refused from now on, and returns the watermark; '' when the tenant is in use.
 * The hash expires with the records (an operation with a number it no longer knows lists again).
 */
export const closeListingScript = `
local base = ARGV[1]
if redis.call('EXISTS', base .. 'due', base .. 'outbox', base .. 'drains') > 0 then return '' end
local listing = redis.call('HMGET', KEYS[1], 'n', 'w')
local watermark = math.max(tonumber(listing[1]) or 0, tonumber(listing[2]) or 0, tonumber(ARGV[2]))
local text = string.format('%d', watermark)
redis.call('HSET', KEYS[1], 'w', text)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return text
`;

/**
 * Last step of unlisting (KEYS[1] the tenants hash; ARGV[1] the tenant, ARGV[2] the watermark
 * {@link closeListingScript} set): removes the tenant unless it was listed again with a higher
 * number meanwhile. Returns 1 when it is not listed anymore.
 */
export const unlistTenantScript = `
local number = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if number ~= nil and number > tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`;
