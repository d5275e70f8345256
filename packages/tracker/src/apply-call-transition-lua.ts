import { callIdentityFills } from './call-transition';
import { defineLuaFragment } from './lua-fragment';
import { toLuaLiteral } from './to-lua-literal';

/**
 * `apply-call-transition.ts` in Lua, on the call hash (`redis-call-hash.ts`), numbered as the
 * rules there are. Uses the `redis-call-hash`, `call-status-rank` and `call-position`
 * fragments. `transition` is the script's transition argument (see
 * `redis-apply-transition-script.ts`: times as text, plus `atMs` and `occurredAtMs` as numbers,
 * settings as numbers), `details` a list of `{ name, json }`.
 *
 * Returns `applied`: `outcome`, `wasActive`, `isActive`, `previousBranchId` (the branch before
 * the transition), `learnedBranchId` (a branch this transition gave the call), `startedAt`,
 * `startedChanged` (it moved earlier), `answeredAt`, `status`. The store's indexes are kept by
 * the `call-indexes` fragment from it.
 */
export const applyCallTransitionLua = defineLuaFragment(
  'apply-call-transition',
  `
local callIdentityFills = ${toLuaLiteral(callIdentityFills)}

local function mergeDetails(callKey, transition, details)
  if #details == 0 then return end
  local position = encodeCallPosition(transition.sequence, transition.occurredAt, transition.eventId)
  local decoded = decodeCallPosition(position)
  for _, detail in ipairs(details) do
    local stored = present(redis.call('HGET', callKey, positionField(detail.name)))
    if stored == nil or compareCallPositions(decoded, decodeCallPosition(stored)) >= 0 then
      redis.call('HSET', callKey, detailField(detail.name), detail.json, positionField(detail.name), position)
    end
  end
end

local function applyCallTransition(callKey, transition, details)
  local at = transition.atMs
  local leaseDeadline = at + transition.settings.publishLeaseMs
  -- Redis only: when the script's seam publishes the event in this very step, there is nothing to
  -- lease or confirm, so an applied event is marked done at once (decision 0030).
  local appliedMark = transition.publishedInScript and eventMarkDone or leaseDeadline
  local current = redis.call('HMGET', callKey, 'status', 'updatedAt', 'createdAt', 'branchId',
    'startedAt', 'answeredAt')
  local status = present(current[1])
  local exists = present(current[3]) ~= nil
  local applied = {
    wasActive = isActiveStatus(status),
    previousBranchId = present(current[4]),
    startedAt = present(current[5]),
    startedChanged = false,
    answeredAt = present(current[6]),
    status = status,
  }
  applied.isActive = applied.wasActive

  -- 1. A guarded transition (the reaper's) applies only to an active call unchanged since.
  if transition.expectUpdatedAt ~= nil then
    if not exists or not applied.wasActive
      or tonumber(present(current[2])) ~= tonumber(transition.expectUpdatedAt) then
      applied.outcome = 'skipped'
      return applied
    end
  end

  -- 2. A known event id: a duplicate, unless its publish lease ran out unconfirmed.
  local markField = eventMarkField(transition.eventId)
  local mark = present(redis.call('HGET', callKey, markField))
  if exists and mark ~= nil then
    local deadline = tonumber(mark)
    if deadline == nil or deadline > at then
      applied.outcome = 'duplicate'
    else
      redis.call('HSET', callKey, markField, appliedMark)
      applied.outcome = 'unpublished'
    end
    return applied
  end

  if not exists then
    redis.call('HSET', callKey, 'tenantId', transition.tenantId, 'callId', transition.callId,
      'provider', transition.identity.provider, 'createdAt', transition.at,
      'updatedAt', transition.at, 'version', 0)
  end

  -- 3. Status and end events fill in the timeline whatever their fate.
  if transition.kind ~= 'enrich' then
    local occurredAt = transition.occurredAtMs
    if applied.startedAt == nil or occurredAt < tonumber(applied.startedAt) then
      applied.startedAt = transition.occurredAt
      applied.startedChanged = true
      redis.call('HSET', callKey, 'startedAt', applied.startedAt)
    end
    if transition.status == 'in-progress'
      and (applied.answeredAt == nil or occurredAt < tonumber(applied.answeredAt)) then
      applied.answeredAt = transition.occurredAt
      redis.call('HSET', callKey, 'answeredAt', applied.answeredAt)
    end
  end

  -- 4. End once; move forward only; enrich always.
  local currentRank = statusRank(status)
  local outcome = 'enriched'
  if transition.kind == 'end' then
    if currentRank == terminalStatusRank then outcome = 'ignored' else outcome = 'ended' end
  elseif transition.kind == 'status' then
    if currentRank < terminalStatusRank and statusRank(transition.status) > currentRank then
      outcome = 'changed'
    else
      outcome = 'ignored'
    end
  end
  if outcome == 'ignored' then
    redis.call('HSET', callKey, markField, eventMarkIgnored)
    applied.outcome = outcome
    return applied
  end

  -- 5. Identity, details, status, bookkeeping, the publish lease and the expiry.
  for _, name in ipairs(callIdentityFills) do
    local value = transition.identity[name]
    if value ~= nil and redis.call('HSETNX', callKey, name, value) == 1 and name == 'branchId' then
      applied.learnedBranchId = value
    end
  end
  mergeDetails(callKey, transition, details)
  if outcome ~= 'enriched' then
    status = transition.status
    redis.call('HSET', callKey, 'status', status)
  end
  if outcome == 'ended' then
    redis.call('HSET', callKey, 'endedAt', transition.occurredAt, 'endEventId', transition.eventId)
    if transition.endEvent ~= '' then redis.call('HSET', callKey, 'endEvent', transition.endEvent) end
  end
  redis.call('HSET', callKey, 'updatedAt', transition.at, markField, appliedMark)
  redis.call('HINCRBY', callKey, 'version', 1)
  applied.outcome = outcome
  applied.status = status
  applied.isActive = isActiveStatus(status)
  if applied.isActive then
    redis.call('PERSIST', callKey)
  else
    redis.call('PEXPIRE', callKey, transition.settings.endedCallRetentionMs)
  end
  return applied
end
`,
);
