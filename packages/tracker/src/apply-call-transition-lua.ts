import { callIdentityFills } from './call-transition';
import { defineLuaFragment } from './lua-fragment';
import { redisCallSnapshotFields } from './redis-call-hash';
import { toLuaLiteral } from './to-lua-literal';

/**
 * The outcome of a transition the script did not apply because a key it would touch is not
 * among the script's keys (`applied.missingKeys` names them): nothing was written.
 */
export const needsKeysOutcome = 'needs-keys';

/**
 * `apply-call-transition.ts` in Lua, on the call hash (`redis-call-hash.ts`), numbered as the
 * rules there are. Uses the `redis-call-hash`, `call-status-rank` and `call-position`
 * fragments. `transition` is the script's transition argument (see
 * `redis-apply-transition-script.ts`: times as text, plus `atMs` and `occurredAtMs` as numbers,
 * `atIso` and `occurredAtIso` as ISO text, settings as numbers), `details` a list of `{ name, json }`,
 * `undeclaredKeys(applied)` the caller's check, run once the transition is decided and before
 * anything is written: a list of keys the step would touch and the script did not declare, or
 * nil. With such keys nothing is written and the outcome is `needs-keys` (`missingKeys`).
 *
 * Returns `applied`: `outcome`, `wasActive`, `isActive`, `previousBranchId` (the branch before
 * the transition), `learnedBranchId` (a branch this transition gave the call), `startedAt`,
 * `startedChanged` (it moved earlier), `answeredAt`, `status`, `identity` (the call's identity
 * fields after it) and `snapshot` (the call's `redisCallSnapshotFields` after it, in that order,
 * as an `HMGET` would read them). The store's indexes are kept by the `call-indexes` fragment
 * from it.
 *
 * Redis commands are few on purpose (each costs about as much as the command itself): the
 * call's snapshot fields, the event's mark and the positions of the details it carries in one
 * `HMGET`, every write in one `HSET` (and into the snapshot, so the call is not read again), and the
 * expiry only when it changes.
 */
export const applyCallTransitionLua = defineLuaFragment(
  'apply-call-transition',
  `
local callIdentityFills = ${toLuaLiteral(callIdentityFills)}
-- Read in one HMGET: the call's snapshot fields (its state, identity and details), then the
-- event's mark (index below). Literals: a Redis Functions library may call nothing while it loads.
local callStateFields = ${toLuaLiteral([...redisCallSnapshotFields, ''])}
local callMarkIndex = #callStateFields
-- A snapshot field's index in callStateFields (and in the snapshot the apply step returns).
local callField = ${toLuaLiteral(Object.fromEntries(redisCallSnapshotFields.map((name, index) => [name, index + 1])))}

-- A write of the transition, in one HSET's arguments (writes) and, for a snapshot field, in the
-- snapshot too (the call is not read again after it is written).
local function addWrite(writes, snapshot, field, value)
  writes[#writes + 1] = field
  writes[#writes + 1] = value
  local position = callField[field]
  if position ~= nil then snapshot[position] = value end
end

-- Each detail the event carries, unless a later event already wrote it (storedPositions: the
-- details' positions, read with the call).
local function mergeDetails(transition, details, storedPositions, writes, snapshot)
  if #details == 0 then return nil end
  local position = encodeCallPosition(transition.sequence, transition.occurredAt, transition.eventId)
  local decoded = decodeCallPosition(position)
  for index, detail in ipairs(details) do
    local storedPosition = present(storedPositions[index])
    if storedPosition == nil or compareCallPositions(decoded, decodeCallPosition(storedPosition)) >= 0 then
      addWrite(writes, snapshot, detailField(detail.name), detail.json)
      addWrite(writes, snapshot, positionField(detail.name), position)
    end
  end
end

-- The caller's check before the first write (see undeclaredKeys above): true when the step
-- must stop, with applied's outcome set to needs-keys.
local function lacksKeys(applied, undeclaredKeys)
  local missing = undeclaredKeys(applied)
  if missing == nil then return false end
  applied.outcome = ${toLuaLiteral(needsKeysOutcome)}
  applied.missingKeys = missing
  return true
end

local function applyCallTransition(callKey, transition, details, undeclaredKeys)
  local at = transition.atMs
  local leaseDeadline = at + transition.settings.publishLeaseMs
  -- Redis only: when the script's seam publishes the event in this very step, there is nothing to
  -- lease or confirm, so an applied event is marked done at once (decision 0030).
  local appliedMark = transition.publishedInScript and eventMarkDone or leaseDeadline
  local markField = eventMarkField(transition.eventId)
  -- The same HMGET reads the positions of the details the event carries, after the mark (the
  -- table's entries past what this call reads are an earlier call's and are not read).
  callStateFields[callMarkIndex] = markField
  for index, detail in ipairs(details) do callStateFields[callMarkIndex + index] = positionField(detail.name) end
  local readCount = callMarkIndex + #details
  local current = redis.call('HMGET', callKey, unpack(callStateFields, 1, readCount))
  local mark = present(current[callMarkIndex])
  local storedPositions = {}
  for index = 1, #details do storedPositions[index] = current[callMarkIndex + index] end
  -- From here on current is the call's snapshot: the writes below go into it, so the
  -- script does not read the call again after writing it.
  for index = readCount, callMarkIndex, -1 do current[index] = nil end
  local status = present(current[callField.status])
  local exists = present(current[callField.createdAt]) ~= nil
  local identity = {}
  for _, name in ipairs(callIdentityFills) do identity[name] = present(current[callField[name]]) end
  local applied = {
    wasActive = isActiveStatus(status),
    previousBranchId = identity.branchId,
    startedAt = present(current[callField.startedAt]),
    startedChanged = false,
    answeredAt = present(current[callField.answeredAt]),
    status = status,
    identity = identity,
    snapshot = current,
  }
  applied.isActive = applied.wasActive

  -- 1. A guarded transition (the reaper's) applies only to an active call unchanged since.
  if transition.expectUpdatedAt ~= nil then
    if not exists or not applied.wasActive
      or tonumber(present(current[callField.updatedAt])) ~= tonumber(transition.expectUpdatedAt) then
      applied.outcome = 'skipped'
      return applied
    end
  end

  -- 2. A known event id: a duplicate, unless its publish lease ran out unconfirmed.
  if exists and mark ~= nil then
    local deadline = tonumber(mark)
    if deadline == nil or deadline > at then
      applied.outcome = 'duplicate'
    else
      applied.outcome = 'unpublished'
      if lacksKeys(applied, undeclaredKeys) then return applied end
      redis.call('HSET', callKey, markField, appliedMark)
    end
    return applied
  end

  -- Everything the transition writes to the call goes in one HSET at the end.
  local writes = {}
  local version = tonumber(present(current[callField.version])) or 0
  if not exists then
    addWrite(writes, current, 'tenantId', transition.tenantId)
    addWrite(writes, current, 'callId', transition.callId)
    addWrite(writes, current, 'provider', transition.identity.provider)
    addWrite(writes, current, 'createdAt', transition.at)
    version = 0
  end

  -- 3. Status and end events fill in the timeline whatever their fate.
  if transition.kind ~= 'enrich' then
    local occurredAt = transition.occurredAtMs
    if applied.startedAt == nil or occurredAt < tonumber(applied.startedAt) then
      applied.startedAt = transition.occurredAt
      applied.startedChanged = true
      addWrite(writes, current, 'startedAt', applied.startedAt)
    end
    if transition.status == 'in-progress'
      and (applied.answeredAt == nil or occurredAt < tonumber(applied.answeredAt)) then
      applied.answeredAt = transition.occurredAt
      addWrite(writes, current, 'answeredAt', applied.answeredAt)
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
    applied.outcome = outcome
    if lacksKeys(applied, undeclaredKeys) then return applied end
    addWrite(writes, current, markField, eventMarkIgnored)
    redis.call('HSET', callKey, unpack(writes))
    return applied
  end

  -- 5. Identity, details, status, bookkeeping, the publish lease and the expiry.
  for _, name in ipairs(callIdentityFills) do
    local value = transition.identity[name]
    if value ~= nil and identity[name] == nil then
      identity[name] = value
      addWrite(writes, current, name, value)
      if name == 'branchId' then applied.learnedBranchId = value end
    end
  end
  mergeDetails(transition, details, storedPositions, writes, current)
  if outcome ~= 'enriched' then
    status = transition.status
    addWrite(writes, current, 'status', status)
    if not applied.wasActive and isActiveStatus(status) then
      addWrite(writes, current, 'activationEventId', transition.eventId)
    end
  end
  if outcome == 'ended' then
    addWrite(writes, current, 'endedAt', transition.occurredAt)
    addWrite(writes, current, 'endEventId', transition.eventId)
    if transition.endEvent ~= '' then addWrite(writes, current, 'endEvent', transition.endEvent) end
  end
  addWrite(writes, current, 'updatedAt', transition.at)
  addWrite(writes, current, markField, appliedMark)
  addWrite(writes, current, 'version', tostring(version + 1))
  applied.isActive = isActiveStatus(status)
  if not applied.isActive then
    -- By the tracker's clock, for reads at a time of their own (the key's TTL runs on Redis's).
    addWrite(writes, current, 'expiresAt', string.format('%d', at + transition.settings.endedCallRetentionMs))
  end
  applied.outcome = outcome
  if lacksKeys(applied, undeclaredKeys) then return applied end
  redis.call('HSET', callKey, unpack(writes))
  applied.status = status
  if not applied.isActive then
    redis.call('PEXPIRE', callKey, transition.settings.endedCallRetentionMs)
  elseif exists and not applied.wasActive then
    -- An active call never carries an expiry: only a known one that just became active may have
    -- one (a new call's key has none).
    redis.call('PERSIST', callKey)
  end
  return applied
end
`,
);
