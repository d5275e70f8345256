import { defineLuaFragment } from './lua-fragment';
import { redisCallHashPrefixes } from './redis-call-hash';
import { toLuaLiteral } from './to-lua-literal';

/**
 * The Redis store's indexes, kept from what `applyCallTransition` did: the bookkeeping half of
 * `createMemoryCallStore`'s `apply`, on these keys under the tenant's base
 * (`<prefix>:{<tenant>}:`), all in the call's hash slot:
 *
 * - `active`, `active:branch:<branch>`: sorted sets of active calls by `startedAt`;
 * - `branches`: hash of active calls per branch (a call is counted under the branch it had when
 *   it became active, or the one it learned while active);
 * - `stale`: sorted set of active calls by when they go stale, their last change plus
 *   `staleAfterMsOf` their status (the reaper's; the key is not the earlier `touched`, whose
 *   scores were last changes);
 * - `outbox`: sorted set of unconfirmed `call.ended` by lease deadline (empty when every end is
 *   published inside the apply script, `publishedInScript`);
 * - `ended`, `ended:branch:<branch>`: sorted sets of ended calls by when the end was decided,
 *   trimmed and expiring with `endedCallRetentionMs`;
 * - `an:log`: the analytics log, folded into the analytics buckets in batches (`analytics-buckets`
 *   fragment).
 *
 * `updateCallIndexes` returns the tenant's active count when this transition changed it (else
 * nil), whether it made the call active, and whether the analytics log is due to be folded.
 *
 * Every key it touches is one the script declared (`declared`: a set of key names), so that on a
 * Redis Cluster slot being migrated Redis answers TRYAGAIN rather than running the step with an
 * index that already moved (it checks only declared keys, and would let the script make a second
 * copy). The store declares the tenant's fixed indexes and the event's branch's; the call's own
 * branch, which only the script reads, may differ: `callBranchIndexKeys` names the branch keys a
 * transition will touch, for the apply step to check before it writes anything.
 */
export const callIndexesLua = defineLuaFragment(
  'call-indexes',
  `
local function activeBranchKey(base, branchId)
  return base .. 'active:branch:' .. branchId
end

local function endedBranchKey(base, branchId)
  return base .. 'ended:branch:' .. branchId
end

-- The branch indexes updateCallIndexes will touch for applied (its outcome, isActive and
-- learnedBranchId decided, nothing written yet). Mirrors updateCallIndexes: a key it uses and
-- this leaves out fails the step (declaredIndexKey).
local function callBranchIndexKeys(base, applied)
  local keys = {}
  local outcome = applied.outcome
  if outcome == 'unpublished' or outcome == 'duplicate' or outcome == 'skipped' then return keys end
  local previousBranchId = applied.previousBranchId
  if previousBranchId ~= nil and applied.wasActive and applied.isActive and applied.startedChanged then
    keys[#keys + 1] = activeBranchKey(base, previousBranchId)
  end
  if outcome == 'ignored' then return keys end
  if applied.isActive then
    local branchId = applied.learnedBranchId
    if not applied.wasActive then branchId = previousBranchId or branchId end
    if branchId ~= nil then keys[#keys + 1] = activeBranchKey(base, branchId) end
  elseif applied.wasActive and previousBranchId ~= nil then
    keys[#keys + 1] = activeBranchKey(base, previousBranchId)
  end
  if outcome == 'ended' and applied.identity.branchId ~= nil then
    keys[#keys + 1] = endedBranchKey(base, applied.identity.branchId)
  end
  return keys
end

-- A branch index's key, which the script must have declared (callBranchIndexKeys was checked
-- before any write: reaching this with an undeclared key is a bug in that mirror).
local function declaredIndexKey(declared, key)
  if not declared[key] then error('calltrack: undeclared key ' .. key) end
  return key
end

local function changeBranchCount(base, branchId, delta)
  if redis.call('HINCRBY', base .. 'branches', branchId, delta > 0 and '1' or '-1') <= 0 then
    redis.call('HDEL', base .. 'branches', branchId)
  end
end

-- Times go to Redis as the text they came as (a Lua number is written with '%.17g': slower).
local function indexEndedCall(key, callId, at, atText, retentionMs)
  redis.call('ZADD', key, atText, callId)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%d', at - retentionMs))
  redis.call('PEXPIRE', key, retentionMs)
end

-- effective-duration-ms.ts: the provider's figure, else from the answer to the end, else 0. The
-- figure is the call's as written (the apply step's snapshot holds this transition's writes).
local function effectiveDurationMs(applied, endedAt, answeredAt)
  local durationJson = present(applied.snapshot[callField[${toLuaLiteral(`${redisCallHashPrefixes.detail}durationMs`)}]])
  if durationJson ~= nil then return tonumber(durationJson) or 0 end
  if answeredAt == nil then return 0 end
  return math.max(0, endedAt - tonumber(answeredAt))
end

local function updateCallIndexes(base, callKey, transition, applied, declared)
  local outcome = applied.outcome
  local at = transition.atMs
  local callId = transition.callId
  local settings = transition.settings
  local leaseDeadline = at + settings.publishLeaseMs
  if outcome == 'unpublished' then
    local eventIds = redis.call('HMGET', callKey, 'endEventId', 'activationEventId')
    if eventIds[1] == transition.eventId then
      if transition.publishedInScript then
        -- Published in this step: the end leaves the outbox for good.
        redis.call('HDEL', callKey, 'endEvent')
        redis.call('ZREM', base .. 'outbox', callId)
      else
        -- Leased again: an unconfirmed end goes back in the outbox with the new deadline.
        redis.call('ZADD', base .. 'outbox', leaseDeadline, callId)
      end
    end
    -- The activation's alert checks run when its publish goes through, while the call is active.
    if eventIds[2] == transition.eventId and applied.isActive then
      return redis.call('ZCARD', base .. 'active'), true, false
    end
    return nil, false, false
  end
  if outcome == 'duplicate' or outcome == 'skipped' then return nil, false, false end

  local activeKey = base .. 'active'
  local previousBranchId = applied.previousBranchId
  if applied.wasActive and applied.isActive and applied.startedChanged then
    -- An earlier start came in: the call moves in the by-start indexes.
    redis.call('ZADD', activeKey, applied.startedAt, callId)
    if previousBranchId ~= nil then
      redis.call('ZADD', declaredIndexKey(declared, activeBranchKey(base, previousBranchId)), applied.startedAt, callId)
    end
  end
  if outcome == 'ignored' then return nil, false, false end

  local activeCount = nil
  local activated = false
  -- What the analytics log gets from this step (one push for all of them).
  local analyticsLines = {}
  if applied.isActive then
    -- stale-after-ms-of.ts: an answered call is quiet until its end, so it is held longer.
    local staleAfterMs = applied.status == 'in-progress' and settings.answeredStaleAfterMs or settings.staleAfterMs
    redis.call('ZADD', base .. 'stale', string.format('%d', at + staleAfterMs), callId)
    if not applied.wasActive then
      redis.call('ZADD', activeKey, applied.startedAt, callId)
      local branchId = previousBranchId or applied.learnedBranchId
      if branchId ~= nil then
        redis.call('ZADD', declaredIndexKey(declared, activeBranchKey(base, branchId)), applied.startedAt, callId)
        changeBranchCount(base, branchId, 1)
      end
      activeCount = redis.call('ZCARD', activeKey)
      activated = true
      analyticsLines[#analyticsLines + 1] = analyticsLevelRecord(activeCount, 1, at, settings.analyticsRetentionMs)
    elseif applied.learnedBranchId ~= nil then
      redis.call('ZADD', declaredIndexKey(declared, activeBranchKey(base, applied.learnedBranchId)),
        applied.startedAt, callId)
      changeBranchCount(base, applied.learnedBranchId, 1)
    end
  elseif applied.wasActive then
    redis.call('ZREM', activeKey, callId)
    redis.call('ZREM', base .. 'stale', callId)
    -- Counted under the branch it had while active (one learned just now was never counted).
    if previousBranchId ~= nil then
      redis.call('ZREM', declaredIndexKey(declared, activeBranchKey(base, previousBranchId)), callId)
      changeBranchCount(base, previousBranchId, -1)
    end
    activeCount = redis.call('ZCARD', activeKey)
    analyticsLines[#analyticsLines + 1] = analyticsLevelRecord(activeCount, -1, at, settings.analyticsRetentionMs)
  end

  if outcome == 'ended' then
    if not transition.publishedInScript then redis.call('ZADD', base .. 'outbox', leaseDeadline, callId) end
    local retentionMs = settings.endedCallRetentionMs
    indexEndedCall(base .. 'ended', callId, at, transition.at, retentionMs)
    local endedBranchId = applied.identity.branchId
    if endedBranchId ~= nil then
      indexEndedCall(declaredIndexKey(declared, endedBranchKey(base, endedBranchId)), callId, at,
        transition.at, retentionMs)
    end
    local durationMs = effectiveDurationMs(applied, transition.occurredAtMs, applied.answeredAt)
    analyticsLines[#analyticsLines + 1] = analyticsEndRecord({
      status = applied.status,
      durationMs = durationMs,
      answered = applied.answeredAt ~= nil or durationMs > 0,
      agentId = applied.identity.agentId,
      neverActive = not applied.wasActive,
    }, at, settings.analyticsRetentionMs)
  end
  local foldDue = appendAnalyticsRecords(base, analyticsLines, settings.analyticsRetentionMs)
  return activeCount, activated, foldDue
end
`,
);
