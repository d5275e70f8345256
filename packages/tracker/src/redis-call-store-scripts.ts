import { callDetailNames } from './call-details';

/**
 * The hash fields a call snapshot is read from, in this order (`HMGET`). Details are stored
 * JSON-encoded under `d:<name>`; their timeline positions under `p:<name>`; event marks under
 * `e:<eventId>`.
 */
export const redisCallSnapshotFields: readonly string[] = [
  'tenantId',
  'callId',
  'provider',
  'status',
  'branchId',
  'agentId',
  'userId',
  'direction',
  'from',
  'to',
  'startedAt',
  'answeredAt',
  'endedAt',
  'createdAt',
  'updatedAt',
  'version',
  ...callDetailNames.map((name) => `d:${name}`),
];

const luaFieldList = redisCallSnapshotFields.map((field) => `'${field}'`).join(', ');

const shared = `
local snapshotFields = { ${luaFieldList} }
local function snapshot(key)
  return redis.call('HMGET', key, unpack(snapshotFields))
end
local function present(value)
  if value == false then return nil end
  return value
end
`;

/**
 * The state machine, atomically (see \`applyCallTransition\` for the same rules in TypeScript).
 * KEYS[1] the call hash. ARGV[1] the tenant's key base (\`<prefix>:{tenant}:\`), ARGV[2] the
 * transition (JSON of scalars), ARGV[3] the end event JSON or '', ARGV[4..] detail name / JSON
 * value pairs. Keys built from ARGV[1] share the tenant's hash tag, so they live in KEYS[1]'s
 * slot on Redis Cluster.
 * Returns { outcome, activeCount or -1, activated 0/1, snapshot }.
 */
export const applyTransitionScript = `${shared}
local callKey = KEYS[1]
local base = ARGV[1]
local t = cjson.decode(ARGV[2])
local at = tonumber(t.at)
local lease = tonumber(t.lease)
local ranks = { queued = 0, ringing = 1, ['in-progress'] = 2,
  completed = 3, busy = 3, ['no-answer'] = 3, failed = 3, canceled = 3 }
local function rankOf(status)
  if status == nil then return -1 end
  return ranks[status] or -1
end

local current = redis.call('HMGET', callKey, 'status', 'updatedAt', 'createdAt', 'branchId',
  'startedAt', 'answeredAt')
local status = present(current[1])
local updatedAt = present(current[2])
local exists = present(current[3]) ~= nil
local previousBranch = present(current[4])
local startedAt = present(current[5])
local answeredAt = present(current[6])
local currentRank = rankOf(status)
local wasActive = currentRank >= 0 and currentRank < 3

local function result(outcome, activeCount, activated)
  return { outcome, activeCount or -1, activated and 1 or 0, snapshot(callKey) }
end

if t.expectUpdatedAt ~= nil then
  if not exists or not wasActive or tonumber(updatedAt) ~= tonumber(t.expectUpdatedAt) then
    return result('skipped')
  end
end

local idField = 'e:' .. t.id
local mark = present(redis.call('HGET', callKey, idField))
if exists and mark ~= nil then
  local deadline = tonumber(mark)
  if deadline == nil or deadline > at then return result('duplicate') end
  redis.call('HSET', callKey, idField, at + lease)
  if redis.call('HGET', callKey, 'endEventId') == t.id then
    redis.call('ZADD', base .. 'outbox', at + lease, t.callId)
  end
  return result('unpublished')
end

if not exists then
  redis.call('HSET', callKey, 'tenantId', t.tenantId, 'callId', t.callId, 'provider', t.provider,
    'createdAt', t.at, 'updatedAt', t.at, 'version', 0)
end

local occurred = tonumber(t.occurredAt)
local startedChanged = false
if t.kind ~= 'enrich' then
  if startedAt == nil or occurred < tonumber(startedAt) then
    startedAt = t.occurredAt
    startedChanged = true
    redis.call('HSET', callKey, 'startedAt', startedAt)
  end
  if t.status == 'in-progress' and (answeredAt == nil or occurred < tonumber(answeredAt)) then
    answeredAt = t.occurredAt
    redis.call('HSET', callKey, 'answeredAt', answeredAt)
  end
end

local outcome = 'enriched'
if t.kind == 'end' then
  if currentRank == 3 then outcome = 'ignored' else outcome = 'ended' end
elseif t.kind == 'status' then
  if currentRank < 3 and rankOf(t.status) > currentRank then outcome = 'changed' else outcome = 'ignored' end
end

local activeKey = base .. 'active'
local function branchKey(branch) return base .. 'active:branch:' .. branch end

if outcome == 'ignored' then
  redis.call('HSET', callKey, idField, 'i')
  if wasActive and startedChanged then
    redis.call('ZADD', activeKey, startedAt, t.callId)
    if previousBranch ~= nil then redis.call('ZADD', branchKey(previousBranch), startedAt, t.callId) end
  end
  return result('ignored')
end

local learnedBranch = nil
for _, name in ipairs({ 'branchId', 'agentId', 'userId', 'direction', 'from', 'to' }) do
  if t[name] ~= nil and redis.call('HSETNX', callKey, name, t[name]) == 1 and name == 'branchId' then
    learnedBranch = t[name]
  end
end
local branch = previousBranch or learnedBranch

local function bytesCompare(a, b)
  local la, lb = #a, #b
  for i = 1, math.min(la, lb) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  if la == lb then return 0 end
  if la < lb then return -1 end
  return 1
end
local sequence = tonumber(t.sequence)
local position = (t.sequence or '') .. ':' .. t.occurredAt .. ':' .. t.id
local function isBefore(stored)
  local s, a, id = string.match(stored, '^([^:]*):([^:]*):(.*)$')
  s = tonumber(s)
  a = tonumber(a)
  if sequence ~= nil and s ~= nil and sequence ~= s then return sequence < s end
  if occurred ~= a then return occurred < a end
  return bytesCompare(t.id, id) < 0
end
for i = 4, #ARGV, 2 do
  local name = ARGV[i]
  local stored = present(redis.call('HGET', callKey, 'p:' .. name))
  if stored == nil or not isBefore(stored) then
    redis.call('HSET', callKey, 'd:' .. name, ARGV[i + 1], 'p:' .. name, position)
  end
end

if outcome ~= 'enriched' then
  status = t.status
  redis.call('HSET', callKey, 'status', status)
end
if outcome == 'ended' then
  redis.call('HSET', callKey, 'endedAt', t.occurredAt, 'endEventId', t.id)
  if ARGV[3] ~= '' then redis.call('HSET', callKey, 'endEvent', ARGV[3]) end
end
redis.call('HSET', callKey, 'updatedAt', t.at, idField, at + lease)
redis.call('HINCRBY', callKey, 'version', 1)
local newRank = rankOf(status)
local isActive = newRank >= 0 and newRank < 3

local granularities = {
  { 'minute', 60000, tonumber(t.retMinute) },
  { 'hour', 3600000, tonumber(t.retHour) },
  { 'day', 86400000, tonumber(t.retDay) },
}
local function bucketKey(name, start)
  return base .. 'an:' .. name .. ':' .. string.format('%d', start)
end
local function keep(key, start, size, retention)
  redis.call('PEXPIRE', key, math.max(1, start + size + retention - at))
end
local function recordLevel(level, delta)
  for _, g in ipairs(granularities) do
    local start = at - (at % g[2])
    local key = bucketKey(g[1], start)
    redis.call('HSETNX', key, 'open', level - delta)
    redis.call('HSET', key, 'level', level)
    local peak = tonumber(redis.call('HGET', key, 'peak'))
    if peak == nil or level > peak then redis.call('HSET', key, 'peak', level) end
    if delta > 0 then redis.call('HINCRBY', key, 'started', 1) end
    keep(key, start, g[2], g[3])
  end
end
local function recordEnd(endStatus, duration, answered, agentId)
  for _, g in ipairs(granularities) do
    local size = g[2]
    local start = at - (at % size)
    local key = bucketKey(g[1], start)
    redis.call('HINCRBY', key, 'ended', 1)
    redis.call('HINCRBY', key, 'st:' .. endStatus, 1)
    if answered then
      redis.call('HINCRBY', key, 'answered', 1)
      redis.call('HINCRBY', key, 'durationMs', duration)
    end
    keep(key, start, size, g[3])
    if g[1] ~= 'minute' and agentId ~= nil and duration > 0 then
      local from = math.max(at - duration, at - g[3])
      local s = from - (from % size)
      while s <= at do
        local overlap = math.min(at, s + size) - math.max(from, s)
        if overlap > 0 then
          local talkKey = bucketKey(g[1], s)
          redis.call('HINCRBY', talkKey, 'agentTalkMs', overlap)
          redis.call('SADD', talkKey .. ':agents', agentId)
          keep(talkKey, s, size, g[3])
          keep(talkKey .. ':agents', s, size, g[3])
        end
        s = s + size
      end
    end
  end
end

local activeCount = nil
local activated = false
if isActive then
  redis.call('PERSIST', callKey)
  redis.call('ZADD', base .. 'touched', at, t.callId)
  if not wasActive then
    redis.call('ZADD', activeKey, startedAt, t.callId)
    if branch ~= nil then
      redis.call('ZADD', branchKey(branch), startedAt, t.callId)
      redis.call('HINCRBY', base .. 'branches', branch, 1)
    end
    activeCount = redis.call('ZCARD', activeKey)
    activated = true
    recordLevel(activeCount, 1)
  else
    if startedChanged then
      redis.call('ZADD', activeKey, startedAt, t.callId)
      if previousBranch ~= nil then redis.call('ZADD', branchKey(previousBranch), startedAt, t.callId) end
    end
    if learnedBranch ~= nil then
      redis.call('ZADD', branchKey(learnedBranch), startedAt, t.callId)
      redis.call('HINCRBY', base .. 'branches', learnedBranch, 1)
    end
  end
else
  if wasActive then
    redis.call('ZREM', activeKey, t.callId)
    redis.call('ZREM', base .. 'touched', t.callId)
    if previousBranch ~= nil then
      redis.call('ZREM', branchKey(previousBranch), t.callId)
      if redis.call('HINCRBY', base .. 'branches', previousBranch, -1) <= 0 then
        redis.call('HDEL', base .. 'branches', previousBranch)
      end
    end
    activeCount = redis.call('ZCARD', activeKey)
    recordLevel(activeCount, -1)
  end
  redis.call('PEXPIRE', callKey, tonumber(t.endedRetention))
end

if outcome == 'ended' then
  redis.call('ZADD', base .. 'outbox', at + lease, t.callId)
  -- The recently ended index (by the time the end was decided), per tenant and per branch; it
  -- keeps what the call hashes keep: endedRetention.
  local retention = tonumber(t.endedRetention)
  local function indexEnded(key)
    redis.call('ZADD', key, at, t.callId)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%d', at - retention))
    redis.call('PEXPIRE', key, retention)
  end
  indexEnded(base .. 'ended')
  local endedBranch = present(redis.call('HGET', callKey, 'branchId'))
  if endedBranch ~= nil then indexEnded(base .. 'ended:branch:' .. endedBranch) end
  local durationJson = present(redis.call('HGET', callKey, 'd:durationMs'))
  local duration = 0
  if durationJson ~= nil then
    duration = tonumber(durationJson) or 0
  elseif answeredAt ~= nil then
    duration = math.max(0, tonumber(t.occurredAt) - tonumber(answeredAt))
  end
  local answered = answeredAt ~= nil or duration > 0
  recordEnd(status, duration, answered, present(redis.call('HGET', callKey, 'agentId')))
end

return result(outcome, activeCount, activated)
`;

/**
 * Confirms an event's publish. KEYS[1] the call hash, KEYS[2] the outbox. ARGV[1] the event
 * id, ARGV[2] the call id. A mark that is not a lease (done, ignored, gone) is left alone.
 */
export const markPublishedScript = `
local field = 'e:' .. ARGV[1]
local mark = redis.call('HGET', KEYS[1], field)
if not mark or tonumber(mark) == nil then return 0 end
redis.call('HSET', KEYS[1], field, 'd')
if redis.call('HGET', KEYS[1], 'endEventId') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'endEvent')
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
`;

/**
 * Records a failed publish so that a retry publishes at once. Same keys and arguments as
 * {@link markPublishedScript}.
 */
export const markPublishFailedScript = `
local field = 'e:' .. ARGV[1]
local mark = redis.call('HGET', KEYS[1], field)
if not mark or tonumber(mark) == nil then return 0 end
redis.call('HSET', KEYS[1], field, 0)
if redis.call('HGET', KEYS[1], 'endEventId') == ARGV[1] then
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
end
return 1
`;

/**
 * Claims unconfirmed \`call.ended\` events whose lease ran out. KEYS[1] the outbox. ARGV[1] the
 * key base, ARGV[2] now, ARGV[3] the lease, ARGV[4] the limit. Returns event JSON / snapshot
 * pairs.
 */
export const claimUnpublishedEndsScript = `${shared}
local now = tonumber(ARGV[2])
local deadline = now + tonumber(ARGV[3])
local claimed = {}
local callIds = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for _, callId in ipairs(callIds) do
  local callKey = ARGV[1] .. 'call:' .. callId
  local fields = redis.call('HMGET', callKey, 'endEventId', 'endEvent')
  if not fields[1] or not fields[2] then
    redis.call('ZREM', KEYS[1], callId)
  else
    redis.call('ZADD', KEYS[1], deadline, callId)
    redis.call('HSET', callKey, 'e:' .. fields[1], deadline)
    table.insert(claimed, fields[2])
    table.insert(claimed, snapshot(callKey))
  end
end
return claimed
`;
