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
 * `startedChanged` (it moved earlier), `answeredAt`, `status`, `identity` (the call's identity
 * fields after it) and `durationJson` (the `durationMs` detail, when this transition wrote it). The store's indexes are kept by the `call-indexes` fragment from it.
 *
 * Redis commands are few on purpose (each costs about as much as the command itself): the
 * call's state, identity and the event's mark in one `HMGET`, the details' positions in another,
 * every write in one `HSET`, and the expiry only when it changes.
 */
export const applyCallTransitionLua = defineLuaFragment(
  'apply-call-transition',
  `
local callIdentityFills = ${toLuaLiteral(callIdentityFills)}
-- Read in one HMGET: the state, the identity fields, then the event's mark (index below). A
-- literal: a Redis Functions library may call nothing while it loads (not even unpack).
local callStateFields = ${toLuaLiteral([
    'status',
    'updatedAt',
    'createdAt',
    'startedAt',
    'answeredAt',
    'version',
    ...callIdentityFills,
  ])}
local callMarkIndex = #callStateFields + 1

-- Appends field / value pairs to one HSET's arguments.
local function addWrite(writes, field, value)
  writes[#writes + 1] = field
  writes[#writes + 1] = value
end

-- Each detail the event carries, unless a later event already wrote it (positions read in one
-- HMGET). Returns the durationMs detail's JSON when this event wrote it.
local function mergeDetails(callKey, transition, details, writes)
  if #details == 0 then return nil end
  local position = encodeCallPosition(transition.sequence, transition.occurredAt, transition.eventId)
  local decoded = decodeCallPosition(position)
  local fields = {}
  for index, detail in ipairs(details) do fields[index] = positionField(detail.name) end
  local stored = redis.call('HMGET', callKey, unpack(fields))
  local durationJson = nil
  for index, detail in ipairs(details) do
    local storedPosition = present(stored[index])
    if storedPosition == nil or compareCallPositions(decoded, decodeCallPosition(storedPosition)) >= 0 then
      addWrite(writes, detailField(detail.name), detail.json)
      addWrite(writes, positionField(detail.name), position)
      if detail.name == 'durationMs' then durationJson = detail.json end
    end
  end
  return durationJson
end

local function applyCallTransition(callKey, transition, details)
  local at = transition.atMs
  local leaseDeadline = at + transition.settings.publishLeaseMs
  -- Redis only: when the script's seam publishes the event in this very step, there is nothing to
  -- lease or confirm, so an applied event is marked done at once (decision 0030).
  local appliedMark = transition.publishedInScript and eventMarkDone or leaseDeadline
  local markField = eventMarkField(transition.eventId)
  callStateFields[callMarkIndex] = markField
  local current = redis.call('HMGET', callKey, unpack(callStateFields))
  local status = present(current[1])
  local exists = present(current[3]) ~= nil
  local identity = {}
  for index, name in ipairs(callIdentityFills) do identity[name] = present(current[6 + index]) end
  local applied = {
    wasActive = isActiveStatus(status),
    previousBranchId = identity.branchId,
    startedAt = present(current[4]),
    startedChanged = false,
    answeredAt = present(current[5]),
    status = status,
    identity = identity,
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
  local mark = present(current[callMarkIndex])
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

  -- Everything the transition writes to the call goes in one HSET at the end.
  local writes = {}
  local version = tonumber(present(current[6])) or 0
  if not exists then
    addWrite(writes, 'tenantId', transition.tenantId)
    addWrite(writes, 'callId', transition.callId)
    addWrite(writes, 'provider', transition.identity.provider)
    addWrite(writes, 'createdAt', transition.at)
    version = 0
  end

  -- 3. Status and end events fill in the timeline whatever their fate.
  if transition.kind ~= 'enrich' then
    local occurredAt = transition.occurredAtMs
    if applied.startedAt == nil or occurredAt < tonumber(applied.startedAt) then
      applied.startedAt = transition.occurredAt
      applied.startedChanged = true
      addWrite(writes, 'startedAt', applied.startedAt)
    end
    if transition.status == 'in-progress'
      and (applied.answeredAt == nil or occurredAt < tonumber(applied.answeredAt)) then
      applied.answeredAt = transition.occurredAt
      addWrite(writes, 'answeredAt', applied.answeredAt)
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
    addWrite(writes, markField, eventMarkIgnored)
    redis.call('HSET', callKey, unpack(writes))
    applied.outcome = outcome
    return applied
  end

  -- 5. Identity, details, status, bookkeeping, the publish lease and the expiry.
  for _, name in ipairs(callIdentityFills) do
    local value = transition.identity[name]
    if value ~= nil and identity[name] == nil then
      identity[name] = value
      addWrite(writes, name, value)
      if name == 'branchId' then applied.learnedBranchId = value end
    end
  end
  applied.durationJson = mergeDetails(callKey, transition, details, writes)
  if outcome ~= 'enriched' then
    status = transition.status
    addWrite(writes, 'status', status)
  end
  if outcome == 'ended' then
    addWrite(writes, 'endedAt', transition.occurredAt)
    addWrite(writes, 'endEventId', transition.eventId)
    if transition.endEvent ~= '' then addWrite(writes, 'endEvent', transition.endEvent) end
  end
  addWrite(writes, 'updatedAt', transition.at)
  addWrite(writes, markField, appliedMark)
  addWrite(writes, 'version', version + 1)
  redis.call('HSET', callKey, unpack(writes))
  applied.outcome = outcome
  applied.status = status
  applied.isActive = isActiveStatus(status)
  if not applied.isActive then
    redis.call('PEXPIRE', callKey, transition.settings.endedCallRetentionMs)
  elseif not applied.wasActive then
    -- An active call never carries an expiry: only one that just became active may have one.
    redis.call('PERSIST', callKey)
  end
  return applied
end
`,
);
