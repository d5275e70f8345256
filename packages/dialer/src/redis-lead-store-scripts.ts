// Lua run by the Redis lead store. Every key of a tenant starts with the `base` passed in
// (`<prefix>:{<tenant>}:`), so each script touches one hash slot (Redis Cluster).
//
// Per tenant: `lead:<leadId>` (hash), `pending:<userId>` (sorted set of pending lead ids, by
// lead id), `leads:<userId>` (sorted set of all the user's lead ids, by lead id), `attempt:<attemptId>` (hash), `call:<provider>:<callId>` (the attempt that placed
// the call), `leases` (claimed / unknown attempts by lease end), `state:<state>` (attempts past
// `claimed`, by claim time), `live:<userId>` (claimed / placed / unknown attempts by claim time).

const shared = `
local base = ARGV[1]
local function int(value) return string.format('%d', value) end
local function flat(key) return redis.call('HGETALL', key) end
`;

/**
 * ARGV: base, tenantId, then per lead: leadId, userId, phoneNumber, timeZone ('' = none). Returns
 * { added, existing, then the position (0-based, in ARGV's leads) of each lead another user has }.
 */
export const addLeadsScript = `${shared}
local added, existing, conflicts = 0, 0, {}
for index = 3, #ARGV, 4 do
  local leadId = ARGV[index]
  local key = base .. 'lead:' .. leadId
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'tenantId', ARGV[2], 'leadId', leadId, 'userId', ARGV[index + 1],
      'phoneNumber', ARGV[index + 2], 'callStatus', 'pending', 'hasBeenCalled', '0',
      'attemptCount', '0', 'fence', '0')
    if ARGV[index + 3] ~= '' then redis.call('HSET', key, 'timeZone', ARGV[index + 3]) end
    redis.call('ZADD', base .. 'pending:' .. ARGV[index + 1], 0, leadId)
    redis.call('ZADD', base .. 'leads:' .. ARGV[index + 1], 0, leadId)
    added = added + 1
  else
    local owner = redis.call('HGET', key, 'userId')
    -- A lead id is the tenant's: another user's lead stays theirs, and is named; so is one
    -- with no owner (a malformed hash), which is not this user's either (as on PostgreSQL).
    if owner ~= ARGV[index + 1] then
      conflicts[#conflicts + 1] = (index - 3) / 4
    else
      existing = existing + 1
    end
    -- Leads added before the index existed join it when their list is loaded again.
    if owner then redis.call('ZADD', base .. 'leads:' .. owner, 0, leadId) end
  end
end
return { added, existing, unpack(conflicts) }
`;

/**
 * ARGV: base, tenantId, now, leaseUntil, claimedBy, maxAttempts ('' = none), minGapMs ('' = none),
 * then per lead: leadId, attemptId, checked ('1', or '' = claim whatever the lead holds), then the
 * userId, phoneNumber and timeZone ('' = none) the gates checked. Returns one flat array, per lead in the order given: a reason,
 * or `'claimed', fence, attemptCount, userId, phoneNumber, timeZone ('' = none)`.
 *
 * Five writes (the lead, the pending index, the attempt, the lease and live indexes) and one
 * read; they are most of the server's time (decisions 0042, 0047). Lua's own part is kept small:
 * no helpers, the lease end comes computed, the answer is flat and does not repeat lead ids.
 */
export const claimLeadsScript = `
local base = ARGV[1]
local tenantId = ARGV[2]
local now = ARGV[3]
local nowNumber = tonumber(now)
local leaseUntil = ARGV[4]
local claimedBy = ARGV[5]
local maxAttempts = tonumber(ARGV[6])
local minGap = tonumber(ARGV[7])
local results = {}
for index = 8, #ARGV, 6 do
  local leadId = ARGV[index]
  local attemptId = ARGV[index + 1]
  local leadKey = base .. 'lead:' .. leadId
  -- Each field read costs, an absent one most (a fresh lead has no lastAttemptAt): only the
  -- fields every claim needs, and skipReason, which tells (with attemptCount) whether an
  -- earlier attempt or skip left fields to clear.
  local lead = redis.call('HMGET', leadKey, 'callStatus', 'hasBeenCalled', 'attemptCount',
    'fence', 'userId', 'phoneNumber', 'timeZone', 'skipReason')
  local reason = nil
  if not lead[1] then
    reason = 'not_found'
  elseif lead[1] ~= 'pending' or lead[2] ~= '0' then
    reason = 'not_pending'
  elseif maxAttempts and tonumber(lead[3]) >= maxAttempts then
    reason = 'attempt_cap'
  elseif minGap and lead[3] ~= '0' then
    -- Only a lead attempted before has a lastAttemptAt (the claim writes both).
    local last = redis.call('HGET', leadKey, 'lastAttemptAt')
    if last and nowNumber - tonumber(last) < minGap then reason = 'too_soon' end
  end
  -- Edited since the gates checked it: not dialled with values no gate saw.
  if not reason and ARGV[index + 2] == '1' and (lead[5] ~= ARGV[index + 3]
      or lead[6] ~= ARGV[index + 4] or (lead[7] or '') ~= ARGV[index + 5]) then
    reason = 'changed'
  end
  if reason then
    results[#results + 1] = reason
  else
    local fence = string.format('%d', tonumber(lead[4]) + 1)
    local attemptCount = string.format('%d', tonumber(lead[3]) + 1)
    local userId = lead[5]
    redis.call('HSET', leadKey, 'callStatus', 'dialing', 'hasBeenCalled', '1',
      'attemptCount', attemptCount, 'lastAttemptAt', now, 'attemptId', attemptId, 'fence', fence)
    -- Clear what an earlier attempt (provider, callId, callOutcome) or skip (skipReason with
    -- skippedAt) left; a fresh lead has none of it.
    if lead[3] ~= '0' or lead[8] then
      redis.call('HDEL', leadKey, 'provider', 'callId', 'callOutcome', 'skipReason', 'skippedAt')
    end
    redis.call('ZREM', base .. 'pending:' .. userId, leadId)
    -- Every field, tenant and id included although the key says them: a process of an earlier
    -- version (a rolling upgrade) reads the attempt by them.
    redis.call('HSET', base .. 'attempt:' .. attemptId, 'tenantId', tenantId, 'leadId', leadId,
      'userId', userId, 'attemptId', attemptId, 'fence', fence, 'state', 'claimed',
      'claimedAt', now, 'leaseUntil', leaseUntil, 'updatedAt', now, 'claimedBy', claimedBy)
    -- A claimed attempt is indexed by its lease only (the reconciler's set; listing claimed
    -- attempts reads it): state sets start once it leaves 'claimed'. Keeps the claim short.
    redis.call('ZADD', base .. 'leases', leaseUntil, attemptId)
    redis.call('ZADD', base .. 'live:' .. userId, now, attemptId)
    -- The caller knows the rest of the lead and the attempt: only what it cannot know comes back.
    results[#results + 1] = 'claimed'
    results[#results + 1] = fence
    results[#results + 1] = attemptCount
    results[#results + 1] = userId
    results[#results + 1] = lead[6] or ''
    results[#results + 1] = lead[7] or ''
  end
end
return results
`;

/**
 * The fenced write and the orphaning of a cut-off attempt as Lua functions, so that one write and
 * a batch of the reconciler's run the same code. `updateAttempt` answers its outcome (`applied`,
 * `not_found`, `no_attempt` when the lead is there but the attempt is not, `stale`,
 * `invalid_transition`) and the lead's current attempt id (false when it has none);
 * `orphanDetached` answers true when it orphaned the attempt.
 */
const attemptFunctions = `
local allowed = {
  claimed = { placed = true, unknown = true, released = true, orphaned = true },
  placed = { placed = true, ended = true },
  unknown = { placed = true, ended = true, released = true, orphaned = true },
  released = {},
  ended = {},
  orphaned = { placed = true, ended = true, released = true },
}
local leadStatus = { claimed = 'dialing', placed = 'placed', unknown = 'unknown',
  released = 'pending', ended = 'completed', orphaned = 'orphaned' }
local live = { claimed = true, placed = true, unknown = true }

local function updateAttempt(leadId, attemptId, fence, target, nowText, leaseMs, provider, callId,
    outcome, reason, takeOver)
  local leadKey = base .. 'lead:' .. leadId
  local attemptKey = base .. 'attempt:' .. attemptId
  if redis.call('EXISTS', leadKey) == 0 then return 'not_found', false end
  local current = redis.call('HMGET', leadKey, 'attemptId', 'fence', 'userId')
  if current[1] ~= attemptId or current[2] ~= fence then return 'stale', current[1] end
  local attempt = redis.call('HMGET', attemptKey, 'state', 'claimedAt')
  local state = attempt[1]
  if not state then return 'no_attempt', current[1] end
  if not allowed[state][target] then return 'invalid_transition', current[1] end
  local userId = current[3]
  local claimedAt = attempt[2]
  if takeOver then fence = int(tonumber(fence) + 1) end
  redis.call('HSET', attemptKey, 'state', target, 'fence', fence, 'updatedAt', nowText)
  if target == 'unknown' then
    local leaseUntil = tonumber(nowText) + tonumber(leaseMs)
    redis.call('HSET', attemptKey, 'leaseUntil', int(leaseUntil))
    redis.call('ZADD', base .. 'leases', leaseUntil, attemptId)
  else
    redis.call('HDEL', attemptKey, 'leaseUntil')
    redis.call('ZREM', base .. 'leases', attemptId)
  end
  if provider ~= '' then redis.call('HSET', attemptKey, 'provider', provider) end
  if callId ~= '' then redis.call('HSET', attemptKey, 'callId', callId) end
  if outcome ~= '' then redis.call('HSET', attemptKey, 'outcome', outcome) end
  if reason ~= '' then redis.call('HSET', attemptKey, 'reason', reason) end
  if state ~= 'claimed' then redis.call('ZREM', base .. 'state:' .. state, attemptId) end
  redis.call('ZADD', base .. 'state:' .. target, claimedAt, attemptId)
  if live[target] then
    redis.call('ZADD', base .. 'live:' .. userId, claimedAt, attemptId)
  else
    redis.call('ZREM', base .. 'live:' .. userId, attemptId)
  end
  local call = redis.call('HMGET', attemptKey, 'provider', 'callId', 'outcome')
  if call[1] and call[2] then
    redis.call('SET', base .. 'call:' .. call[1] .. ':' .. call[2], attemptId)
  end
  redis.call('HSET', leadKey, 'callStatus', leadStatus[target], 'fence', fence,
    'hasBeenCalled', target == 'released' and '0' or '1')
  for offset, name in ipairs({ 'provider', 'callId', 'callOutcome' }) do
    if call[offset] then redis.call('HSET', leadKey, name, call[offset]) end
  end
  if target == 'released' then redis.call('ZADD', base .. 'pending:' .. userId, 0, leadId) end
  return 'applied', attemptId
end

local function orphanDetached(attemptId, leadId, nowText, reason, callId, outcome)
  local attemptKey = base .. 'attempt:' .. attemptId
  local attempt = redis.call('HMGET', attemptKey, 'state', 'leadId', 'userId', 'claimedAt',
    'provider')
  local state = attempt[1]
  if not live[state] or attempt[2] ~= leadId then return false end
  if redis.call('HGET', base .. 'lead:' .. leadId, 'attemptId') == attemptId then return false end
  redis.call('HSET', attemptKey, 'state', 'orphaned', 'updatedAt', nowText, 'reason', reason)
  -- What a lookup learned of the call, as a fenced write would record it.
  if outcome and outcome ~= '' then redis.call('HSET', attemptKey, 'outcome', outcome) end
  if callId and callId ~= '' then
    redis.call('HSET', attemptKey, 'callId', callId)
    if attempt[5] then
      redis.call('SET', base .. 'call:' .. attempt[5] .. ':' .. callId, attemptId)
    end
  end
  redis.call('HDEL', attemptKey, 'leaseUntil')
  redis.call('ZREM', base .. 'leases', attemptId)
  if state ~= 'claimed' then redis.call('ZREM', base .. 'state:' .. state, attemptId) end
  redis.call('ZADD', base .. 'state:orphaned', attempt[4], attemptId)
  redis.call('ZREM', base .. 'live:' .. attempt[3], attemptId)
  return true
end
`;

/**
 * ARGV: base, leadId, attemptId, fence, state, now, leaseMs, provider, callId, outcome, reason,
 * takeOver ('1' or ''). Returns { outcome, lead fields, attempt fields }.
 */
export const updateAttemptScript = `${shared}${attemptFunctions}
local leadId, attemptId = ARGV[2], ARGV[3]
local outcome = updateAttempt(leadId, attemptId, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8],
  ARGV[9], ARGV[10], ARGV[11], ARGV[12] == '1')
local leadKey = base .. 'lead:' .. leadId
if outcome == 'not_found' then return { 'not_found', {}, {} } end
if outcome == 'no_attempt' then return { 'not_found', flat(leadKey), {} } end
return { outcome, flat(leadKey), flat(base .. 'attempt:' .. attemptId) }
`;

/**
 * ARGV: base, attemptId, leadId, now, reason, callId ('' = none), outcome ('' = none). Orphans a
 * `claimed`, `placed` or `unknown` attempt of `leadId` whose lead is gone or on another attempt,
 * keeping the call id and outcome a lookup learned; returns its fields, or {} if it changed
 * nothing.
 */
export const orphanDetachedAttemptScript = `${shared}${attemptFunctions}
if not orphanDetached(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]) then return {} end
return flat(base .. 'attempt:' .. ARGV[2])
`;

/**
 * ARGV: base, now, then per attempt: leadId, attemptId, fence, reason. The reconciler's batch, as
 * it would write each attempt alone: take it over (`orphaned`, the fence raised); if its lead
 * is gone or on another attempt, orphan the attempt on its own. Returns one outcome per attempt:
 * `orphaned`, `lead_gone`, `lead_moved_on` or `unchanged`.
 */
export const orphanExpiredAttemptsScript = `${shared}${attemptFunctions}
local now = ARGV[2]
local outcomes = {}
for index = 3, #ARGV, 4 do
  local leadId, attemptId = ARGV[index], ARGV[index + 1]
  local result, current = updateAttempt(leadId, attemptId, ARGV[index + 2], 'orphaned', now, 0,
    '', '', '', ARGV[index + 3], true)
  local outcome = 'unchanged'
  if result == 'applied' then
    outcome = 'orphaned'
  elseif result == 'not_found' or current ~= attemptId then
    local cutOff = result == 'not_found' and 'lead_gone' or 'lead_moved_on'
    if orphanDetached(attemptId, leadId, now, cutOff) then outcome = cutOff end
  end
  outcomes[#outcomes + 1] = outcome
end
return outcomes
`;

/** ARGV: base, then per skip: leadId, reason, now. Records each on its lead while it is pending. */
export const recordSkipsScript = `${shared}
for index = 2, #ARGV, 3 do
  local key = base .. 'lead:' .. ARGV[index]
  local lead = redis.call('HMGET', key, 'callStatus', 'hasBeenCalled')
  if lead[1] == 'pending' and lead[2] == '0' then
    redis.call('HSET', key, 'skipReason', ARGV[index + 1], 'skippedAt', ARGV[index + 2])
  end
end
return 0
`;

/**
 * KEYS: the per-user index (`pending:<userId>` or `leads:<userId>`). ARGV: base, userId, pending
 * ('1' for the pending index), then lead ids a read of the index passed over. Removes each that
 * is still not the index's: its lead gone, another user's (or nobody's), or, on the pending
 * index, not pending. Checked here, not by the read: a lead loaded again for the user since the
 * read is left listed. Returns how many were removed.
 */
export const pruneLeadIndexScript = `${shared}
local userId, pendingOnly = ARGV[2], ARGV[3] == '1'
local removed = 0
for index = 4, #ARGV do
  local lead = redis.call('HMGET', base .. 'lead:' .. ARGV[index], 'userId', 'callStatus',
    'hasBeenCalled')
  if lead[1] ~= userId or (pendingOnly and (lead[2] ~= 'pending' or lead[3] ~= '0')) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[index])
  end
end
return removed
`;
