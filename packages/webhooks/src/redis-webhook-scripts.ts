/**
 * Lua scripts of the Redis webhook store. Every key a script touches belongs to one tenant and
 * carries its `{tenant}` hash tag (or is one endpoint's key), so each runs in one slot on Redis
 * Cluster.
 */

/** KEYS: endpoints zset, endpoint hash, tenants set. ARGV: id, createdAt, max, then field/value pairs. 1 = created, 0 = over quota. */
export const createEndpointScript = `
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
local fields = {}
for index = 4, #ARGV do fields[#fields + 1] = ARGV[index] end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`;

/**
 * KEYS: endpoint hash. ARGV: settings JSON, the settings JSON the writer read ('' = write over
 * whatever is there). 1 = saved, 0 = no such endpoint, 2 = the settings changed since they were
 * read (compared as JSON values, without updatedAt and createdAt).
 */
export const saveSettingsScript = `
local function sameJson(a, b)
  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end
  for key, value in pairs(a) do
    if not sameJson(value, b[key]) then return false end
  end
  for key in pairs(b) do
    if a[key] == nil then return false end
  end
  return true
end
local current = redis.call('HGET', KEYS[1], 'settings')
if not current then return 0 end
if ARGV[2] ~= '' then
  local stored, expected = cjson.decode(current), cjson.decode(ARGV[2])
  stored.updatedAt, stored.createdAt, expected.updatedAt, expected.createdAt = nil, nil, nil, nil
  if not sameJson(stored, expected) then return 2 end
end
redis.call('HSET', KEYS[1], 'settings', ARGV[1])
return 1
`;

/** KEYS: endpoint hash. ARGV: '1' / '0', now. 1 = changed, 0 = no such endpoint. */
export const setEnabledScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '1' then
  redis.call('HDEL', KEYS[1], 'disabledAt', 'disabledReason', 'disabledMessage', 'failingSince')
  redis.call('HSET', KEYS[1], 'enabled', '1', 'failures', '0', 'stateUpdatedAt', ARGV[2])
else
  redis.call('HSET', KEYS[1], 'enabled', '0', 'stateUpdatedAt', ARGV[2])
  if redis.call('HEXISTS', KEYS[1], 'disabledAt') == 0 then
    redis.call('HSET', KEYS[1], 'disabledAt', ARGV[2], 'disabledReason', 'manual',
      'disabledMessage', 'Disabled through the API.')
  end
end
return 1
`;

/**
 * KEYS: endpoints zset, endpoint hash, log zset, log data hash, endpoint failed zset, tenant
 * failed zset, test rows zset. ARGV: endpoint id. 1 = deleted.
 */
export const deleteEndpointScript = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
for _, messageId in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  redis.call('ZREM', KEYS[6], ARGV[1] .. ':' .. messageId)
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[7])
return removed
`;

/**
 * KEYS: message key, the tenant's leases zset, then one delivery hash per endpoint. ARGV: message
 * JSON, retention ms, event type, created at, how many new deliveries to lease, lease ms, message
 * id, then the endpoint id of each delivery. Returns the (1-based) positions of deliveries still
 * pending and not leased (positive: the caller queues them) and of those this call created and
 * leased (negative: the caller sends them). A lease is a member `<endpoint>:<message>` scored by
 * its end on real time (Redis TIME); a pending delivery under a lease is left to its holder.
 */
export const createDeliveriesScript = `
local retention = tonumber(ARGV[2])
local toLease = tonumber(ARGV[5])
local leaseEnd
if toLease > 0 then
  local time = redis.call('TIME')
  leaseEnd = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[6])
end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', retention)
-- A delivery lives no longer than its message (one created for an older message, a resend to an
-- endpoint that never had it, expires with it).
local life = redis.call('PTTL', KEYS[1])
if life < 1 then life = retention end
local result = {}
for index = 3, #KEYS do
  local status = redis.call('HGET', KEYS[index], 'status')
  local position = index - 2
  if not status then
    redis.call('HSET', KEYS[index], 'status', 'pending', 'attempts', '0', 'eventType', ARGV[3],
      'createdAt', ARGV[4], 'updatedAt', ARGV[4])
    redis.call('PEXPIRE', KEYS[index], life)
    if toLease > 0 then
      toLease = toLease - 1
      redis.call('ZADD', KEYS[2], leaseEnd, ARGV[7 + position] .. ':' .. ARGV[7])
      result[#result + 1] = -position
    else
      result[#result + 1] = position
    end
  elseif status == 'pending'
    and not redis.call('ZSCORE', KEYS[2], ARGV[7 + position] .. ':' .. ARGV[7]) then
    result[#result + 1] = position
  end
end
if leaseEnd then redis.call('PEXPIRE', KEYS[2], retention) end
return result
`;

/**
 * Takes the leases that ran out (a bounded batch) and extends each by ARGV[1] ms, so a crash
 * before their jobs are queued loses none. KEYS: the tenant's leases zset. ARGV: lease ms, most
 * taken. Returns the members (`<endpoint>:<message>`).
 */
export const takeExpiredLeasesScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(expired) do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), member) end
return expired
`;

/**
 * One attempt, atomically: the log row (trimmed by age and count: at most 200 rows past the
 * retention and 1,000 over the count per call, so a lowered `maxAttemptsPerEndpoint` is reached
 * over a few records, and never more values in one `unpack` than Lua allows), the delivery (and the
 * dead-letter indexes), the endpoint's health (failure clock, auto-disable, once).
 * With a holder in ARGV[2], its concurrency slot is freed first, and its hold on the delivery
 * (fields `holder`, `heldUntil`); a delivery that ends (succeeded, failed) loses its lease. The
 * delivery's resend mark (field `resend`) is cleared when this attempt served it (ARGV[23]) or
 * succeeded (a resend asked while it was in flight is answered).
 * An attempt of a deleted endpoint (deleted while it was in flight) is dropped: only its slot,
 * hold, lease and delivery go. A delivery lives no longer than its message (KEYS[9]): its expiry
 * is the message's, not restarted by the attempt, and one whose message is gone (expired), or
 * was created (the delivery's `createdAt`) before `now - retention` on the dispatcher's clock, is
 * deleted instead of written, so no dead letter is left that nothing could resend.
 * KEYS: endpoint hash, delivery hash, log zset, log data hash, endpoint failed zset, tenant
 * failed zset, the endpoint's slots zset, the tenant's leases zset, the message key, and for a
 * test send's row the endpoint's test rows zset (ids of its test-send rows, bounded by ARGV[24]: the oldest leave
 * the log before the trim by count, so test sends never push deliveries' rows out). ARGV (positional, '' = absent; no JSON to decode):
 * now, slot holder, retention ms, most rows, attempt id, started at, endpoint id, message id,
 * event type, log row; delivery status, attempts, updated at, last status code, next attempt at,
 * last error or '' with its presence ('1' / '0'); health ('s' succeeded, 'f' failed, '' none),
 * disable reason, failure window ms, min failures, message; the resend served or ''; most test
 * rows (only with the test rows key). Returns { disabled reason or '',
 * failingSince or '', 1 when the holder's slot was freed (else 0: it had run out and was taken
 * by another, or there was none), 1 when its hold on the delivery was freed (else 0) }: only a
 * release of what the holder still held wakes a job waiting for it.
 *
 * Cheap when nothing changes: the dead-letter indexes are touched only when the delivery fails
 * or had failed (a delivery that was never failed is in neither), and a success on an endpoint
 * with no failures counted writes nothing to it (a count of 0 means no failure clock runs).
 */
export const recordAttemptScript = `
local now = tonumber(ARGV[1])
local slotFreed, holdFreed = 0, 0
if ARGV[2] ~= '' then slotFreed = redis.call('ZREM', KEYS[7], ARGV[2]) end
local retention = tonumber(ARGV[3])
local cutoff = now - retention
local member = ARGV[7] .. ':' .. ARGV[8]
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[11] ~= '' then
    if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], 'holder') == ARGV[2] then holdFreed = 1 end
    redis.call('DEL', KEYS[2])
    redis.call('ZREM', KEYS[8], member)
  end
  return { '', '', slotFreed, holdFreed }
end
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
redis.call('HSET', KEYS[4], ARGV[5], ARGV[10])
-- Test rows over their bound leave first, so a test send never trims a delivery's row by count.
if ARGV[24] and ARGV[24] ~= '' then
  redis.call('ZADD', KEYS[10], ARGV[6], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', '(' .. cutoff)
  local over = redis.call('ZCARD', KEYS[10]) - tonumber(ARGV[24])
  if over > 500 then over = 500 end
  if over > 0 then
    local tests = redis.call('ZRANGE', KEYS[10], 0, over - 1)
    redis.call('ZREM', KEYS[10], unpack(tests))
    redis.call('ZREM', KEYS[3], unpack(tests))
    redis.call('HDEL', KEYS[4], unpack(tests))
  end
  redis.call('PEXPIRE', KEYS[10], retention)
end
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. cutoff, 'LIMIT', 0, 200)
local excess = redis.call('ZCARD', KEYS[3]) - #old - tonumber(ARGV[4])
if excess > 1000 then excess = 1000 end
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], #old, #old + excess - 1)) do old[#old + 1] = id end
end
for first = 1, #old, 500 do
  local last = math.min(first + 499, #old)
  redis.call('ZREM', KEYS[3], unpack(old, first, last))
  redis.call('HDEL', KEYS[4], unpack(old, first, last))
end
redis.call('PEXPIRE', KEYS[3], retention)
redis.call('PEXPIRE', KEYS[4], retention)

local status = ARGV[11]
local life = -2
if status ~= '' then
  life = redis.call('PTTL', KEYS[9])
  local createdAt = tonumber(redis.call('HGET', KEYS[2], 'createdAt'))
  if createdAt and createdAt < cutoff then life = -2 end
end
if status ~= '' and life == -2 then
  if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], 'holder') == ARGV[2] then holdFreed = 1 end
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[5], ARGV[8])
  redis.call('ZREM', KEYS[6], member)
  redis.call('ZREM', KEYS[8], member)
elseif status ~= '' then
  if life < 1 then life = retention end
  local previous = redis.call('HGET', KEYS[2], 'status')
  redis.call('HSET', KEYS[2], 'status', status, 'attempts', ARGV[12], 'updatedAt', ARGV[13],
    'eventType', ARGV[9])
  if ARGV[14] ~= '' then redis.call('HSET', KEYS[2], 'lastStatusCode', ARGV[14]) end
  if not previous then redis.call('HSET', KEYS[2], 'createdAt', now) end
  if ARGV[15] ~= '' then redis.call('HSET', KEYS[2], 'nextAttemptAt', ARGV[15])
  else redis.call('HDEL', KEYS[2], 'nextAttemptAt') end
  if ARGV[17] == '1' then redis.call('HSET', KEYS[2], 'lastError', ARGV[16])
  elseif ARGV[17] == '0' then redis.call('HDEL', KEYS[2], 'lastError') end
  redis.call('PEXPIRE', KEYS[2], life)
  local held = redis.call('HMGET', KEYS[2], 'holder', 'resend')
  if held[1] and held[1] == ARGV[2] then
    redis.call('HDEL', KEYS[2], 'holder', 'heldUntil')
    holdFreed = 1
  end
  if held[2] and (status == 'succeeded' or held[2] == ARGV[23]) then
    redis.call('HDEL', KEYS[2], 'resend')
  end
  if status ~= 'pending' then redis.call('ZREM', KEYS[8], member) end
  if status == 'failed' or previous ~= 'pending' and previous ~= 'succeeded' then
    if status == 'failed' then
      redis.call('ZADD', KEYS[5], ARGV[13], ARGV[8])
      redis.call('ZADD', KEYS[6], ARGV[13], member)
    else
      redis.call('ZREM', KEYS[5], ARGV[8])
      redis.call('ZREM', KEYS[6], member)
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. cutoff)
    redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. cutoff)
    redis.call('PEXPIRE', KEYS[5], retention)
    redis.call('PEXPIRE', KEYS[6], retention)
  end
end

local h = ARGV[18]
if h == '' then return { '', '', slotFreed, holdFreed } end
if h == 's' then
  local failures = redis.call('HGET', KEYS[1], 'failures')
  if failures and failures ~= '0' then
    redis.call('HDEL', KEYS[1], 'failingSince')
    redis.call('HSET', KEYS[1], 'failures', '0')
  end
  return { '', '', slotFreed, holdFreed }
end
if redis.call('EXISTS', KEYS[1]) == 0 then return { '', '', slotFreed, holdFreed } end
local since = tonumber(redis.call('HGET', KEYS[1], 'failingSince'))
if not since then
  since = now
  redis.call('HSET', KEYS[1], 'failingSince', now)
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local reason = ARGV[19]
if reason == '' then reason = false end
if not reason and ARGV[20] ~= '' and now - since >= tonumber(ARGV[20])
  and failures >= tonumber(ARGV[21]) then
  reason = 'failing'
end
if not reason or redis.call('HGET', KEYS[1], 'enabled') ~= '1' then
  return { '', '', slotFreed, holdFreed }
end
redis.call('HSET', KEYS[1], 'enabled', '0', 'disabledReason', reason, 'disabledAt', now,
  'disabledMessage', ARGV[22], 'stateUpdatedAt', now)
return { reason, tostring(since), slotFreed, holdFreed }
`;

/**
 * A page of a zset, newest first: by score, members of one score by member, both descending. The
 * cursor is a score (`before`, '' = none) and a key (`beforeKey`, '' = none): the page starts
 * below the score, or at it below the key, where a member's key is `prefix .. member`. None
 * below `min` (a score or '-inf'); at most `limit`.
 *
 * The members at `before` are a run of ranks, sorted by member: a bisection finds how many sort
 * at or above the key (compared byte by byte, as Redis sorts members: Lua's `<` follows the
 * server's locale), and the page skips them. The cursor's own member need not exist any more.
 */
const pageLua = `
local function lowerBytes(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function page(key, before, beforeKey, min, limit, prefix)
  if before == '' then
    return redis.call('ZREVRANGEBYSCORE', key, '+inf', min, 'LIMIT', 0, limit)
  end
  if beforeKey == '' then
    return redis.call('ZREVRANGEBYSCORE', key, '(' .. before, min, 'LIMIT', 0, limit)
  end
  local above = redis.call('ZCOUNT', key, '(' .. before, '+inf')
  local low, high = 0, redis.call('ZCOUNT', key, before, before)
  while low < high do
    local middle = math.floor((low + high) / 2)
    local member = redis.call('ZREVRANGE', key, above + middle, above + middle)[1]
    if lowerBytes(prefix .. member, beforeKey) then high = middle else low = middle + 1 end
  end
  return redis.call('ZREVRANGEBYSCORE', key, before, min, 'LIMIT', low, limit)
end
`;

/**
 * KEYS: log zset, log data hash. ARGV: before ('' = none), before key (an attempt id, '' =
 * none), min score, limit. Returns { ids, rows }, newest first (see `page`). The rows are read
 * 500 at a time: Lua's `unpack` takes about 8,000 values at most.
 */
export const listAttemptsScript = `${pageLua}
local ids = page(KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), '')
local rows = {}
for first = 1, #ids, 500 do
  local part = redis.call('HMGET', KEYS[2], unpack(ids, first, math.min(first + 499, #ids)))
  for index = 1, #part do rows[#rows + 1] = part[index] end
end
return { ids, rows }
`;

/**
 * KEYS: a failed zset (endpoint or tenant). ARGV: before, before key (`endpointId:messageId`),
 * min score, limit (as `page`), key base (`<prefix>:{tenant}:`), endpoint id or '' (tenant
 * zset), the oldest message creation time kept ('' = any: the dispatcher's `now - retentionMs`).
 * Returns { endpoint id, message id and the delivery hash (flattened) per entry, how many
 * entries were left out, the score of the last entry returned or '' }. An entry whose delivery or message is gone (expired: a dead letter
 * lives no longer than the message it would resend), or whose message (the delivery's
 * `createdAt`) is older than ARGV[7], is left out and taken off the zset (a `ZREM`, which Redis
 * runs even out of memory), so the caller reads on from the same cursor.
 */
export const listFailedScript = `${pageLua}
local prefix = ''
if ARGV[6] ~= '' then prefix = ARGV[6] .. ':' end
local members = page(KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), prefix)
local result, dropped, last = {}, 0, nil
local keptSince = tonumber(ARGV[7])
for _, member in ipairs(members) do
  local endpointId, messageId = ARGV[6], member
  if endpointId == '' then
    local colon = string.find(member, ':', 1, true)
    endpointId = string.sub(member, 1, colon - 1)
    messageId = string.sub(member, colon + 1)
  end
  local delivery = redis.call('HGETALL', ARGV[5] .. 'dlv:' .. endpointId .. ':' .. messageId)
  local old = false
  if keptSince then
    for index = 1, #delivery, 2 do
      if delivery[index] == 'createdAt' then old = tonumber(delivery[index + 1]) < keptSince end
    end
  end
  if #delivery == 0 or old or redis.call('EXISTS', ARGV[5] .. 'msg:' .. messageId) == 0 then
    redis.call('ZREM', KEYS[1], member)
    dropped = dropped + 1
  else
    result[#result + 1] = { endpointId, messageId, delivery }
    last = member
  end
end
if last then last = redis.call('ZSCORE', KEYS[1], last) else last = '' end
return { result, dropped, last }
`;

/**
 * Takes one of an endpoint's concurrency slots (a zset of holders scored by lease expiry, on
 * real time: Redis TIME). Shared by the slot and begin scripts: call it with the slots key, the
 * holder, the limit and the lease; 0 = taken, else ms to wait.
 */
const takeSlotLua = `
local function takeSlot(key, holder, limit, lease)
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZSCORE', key, holder) or redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now + lease, holder)
    redis.call('PEXPIRE', key, lease)
    return 0
  end
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  local wait = tonumber(first[2]) - now
  if wait > 1000 then wait = 1000 end
  if wait < 1 then wait = 1 end
  return wait
end
`;

/** KEYS: the endpoint's slots zset. ARGV: holder, limit, lease ms. 0 = taken, else ms to wait. */
export const acquireSlotScript = `${takeSlotLua}
return takeSlot(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
`;

/**
 * A worker's preparation for an attempt, in one step: the delivery, the endpoint and the message,
 * and the job's concurrency slot when it can send now (endpoint enabled, message present; for an
 * `event` job the delivery pending, and due at `now` or asked to be resent; for a `resend` job a
 * resend waiting). One attempt of a delivery at a time: while another holder's hold on it
 * (fields `holder`, `heldUntil`, on real time) lasts, no slot is taken and the wait is answered;
 * a slot taken comes with the hold. A resend mark on a delivery whose endpoint is disabled is
 * deleted: the attempt that would have served it is dropped, and so is the resend. So is the
 * recovery claim (`claimRecoveries`) of a recovery job dropped there, when it is that job's (its
 * id ends in `_recover_<attempts>`): the dead letter stays as it was, and a later `recover`
 * counts it again; the job's attempts are written as `recoverDropped`, so that a claim still to
 * come of the call that queued it is not made (`claimRecoveriesScript`). A delivery whose endpoint is gone (made after the delete, by a fan-out from a
 * cached endpoint list) is deleted, with its lease.
 * KEYS: delivery hash, endpoint hash, message key, the endpoint's slots zset, the tenant's leases
 * zset. ARGV: trigger, now (the dispatcher's clock), holder, lease ms, the delivery's lease member
 * (`<endpoint>:<message>`). Returns { delivery hash (flat, with its `resend`
 * mark as it was), endpoint hash (flat), message or false, slot wait or -1 when no slot was asked
 * for, 1 when the wait is for another holder's hold on the delivery (else 0) }.
 */
export const beginAttemptScript = `${takeSlotLua}
local delivery = redis.call('HGETALL', KEYS[1])
local endpoint = redis.call('HGETALL', KEYS[2])
local message = redis.call('GET', KEYS[3])
local fields = {}
for index = 1, #endpoint, 2 do fields[endpoint[index]] = endpoint[index + 1] end
local status, nextAt, resend, holder, heldUntil
for index = 1, #delivery, 2 do
  local field = delivery[index]
  if field == 'status' then status = delivery[index + 1]
  elseif field == 'nextAttemptAt' then nextAt = tonumber(delivery[index + 1])
  elseif field == 'resend' then resend = delivery[index + 1]
  elseif field == 'holder' then holder = delivery[index + 1]
  elseif field == 'heldUntil' then heldUntil = tonumber(delivery[index + 1]) end
end
local due
if ARGV[1] == 'event' then
  due = status == 'pending' and (resend or not nextAt or nextAt <= tonumber(ARGV[2]))
elseif ARGV[1] == 'resend' then
  due = resend ~= nil
else
  due = true
end
local slot, held = -1, 0
if due and message and fields.enabled == '1' and fields.settings then
  local time = redis.call('TIME')
  local realNow = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if holder and holder ~= ARGV[3] and heldUntil and heldUntil > realNow then
    slot, held = heldUntil - realNow, 1
    if slot > 1000 then slot = 1000 end
    if slot < 1 then slot = 1 end
  else
    local limit = tonumber(cjson.decode(fields.settings).maxConcurrency)
    slot = takeSlot(KEYS[4], ARGV[3], limit, tonumber(ARGV[4]))
    if slot == 0 and status then
      redis.call('HSET', KEYS[1], 'holder', ARGV[3], 'heldUntil', realNow + tonumber(ARGV[4]))
    end
  end
elseif resend and fields.settings and fields.enabled ~= '1' then
  redis.call('HDEL', KEYS[1], 'resend')
elseif #endpoint == 0 and #delivery > 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[5], ARGV[5])
end
if ARGV[1] == 'recover' and fields.settings and fields.enabled ~= '1' and #delivery > 0 then
  local attempts = string.match(ARGV[3], '_recover_(%d+)$')
  if attempts then
    if redis.call('HGET', KEYS[1], 'recovered') == attempts then
      redis.call('HDEL', KEYS[1], 'recovered')
    end
    redis.call('HSET', KEYS[1], 'recoverDropped', attempts)
  end
end
return { delivery, endpoint, message, slot, held }
`;

/**
 * Frees a holder's concurrency slot and its hold on a delivery (not another holder's). KEYS: the
 * endpoint's slots zset, the delivery hash. ARGV: holder. Returns { 1 when the slot was freed,
 * 1 when the hold was (else 0: it had run out and was taken by another, or there was none) }.
 */
export const releaseSlotScript = `
local slotFreed, holdFreed = redis.call('ZREM', KEYS[1], ARGV[1]), 0
if redis.call('HGET', KEYS[2], 'holder') == ARGV[1] then
  redis.call('HDEL', KEYS[2], 'holder', 'heldUntil')
  holdFreed = 1
end
return { slotFreed, holdFreed }
`;

/**
 * Marks a delivery as asked to be resent (field `resend` = the resend job's id), when it exists.
 * KEYS: the delivery hash. ARGV: the job id.
 */
export const markResendScript = `
if redis.call('HEXISTS', KEYS[1], 'status') == 1 then
  redis.call('HSET', KEYS[1], 'resend', ARGV[1])
end
return 1
`;

/**
 * Claims the recovery of dead letters (field `recovered` = the attempts it was claimed at): each
 * delivery that is there and has no recovery claimed at the attempts given or later (whatever it
 * became since: the recovery just queued may have run already), nor one dropped on the disabled
 * endpoint since it was last queued (`recoverDropped`, written by `beginAttemptScript`, deleted
 * by `enqueue`): nothing will send that one. KEYS: the delivery hashes. ARGV: the attempts of
 * each, in order. Returns the (1-based) positions claimed.
 */
export const claimRecoveriesScript = `
local claimed = {}
for index = 1, #KEYS do
  local delivery = redis.call('HMGET', KEYS[index], 'status', 'recovered', 'recoverDropped')
  local attempts = tonumber(ARGV[index])
  if delivery[1] and (not delivery[2] or tonumber(delivery[2]) < attempts)
    and (not delivery[3] or tonumber(delivery[3]) < attempts) then
    redis.call('HSET', KEYS[index], 'recovered', ARGV[index])
    claimed[#claimed + 1] = index
  end
end
return claimed
`;

/**
 * KEYS: the endpoint's rate key. ARGV: now, interval ms, burst ms. 0 = allowed, else ms to wait.
 * GCRA. A rate of far less than one a day has waits past what an integer reply holds (it turns
 * negative) and a key lifetime past what `PX` reads (written as `1e+20`): both are capped, and
 * the burst is taken off the interval first (`tat + interval - burst` loses the time itself in
 * the rounding of so large an interval).
 */
export const takeRateTokenScript = `
local most = 9007199254740991
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local allowAt = tat - (burst - interval)
if allowAt > now then return math.min(math.ceil(allowAt - now), most) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.min(math.ceil(burst + interval + 1000), most))
return 0
`;
