import { defineRedisScript, type RedisScript } from '@calltrack/redis-script';
import { analyticsBucketsLua } from './analytics-buckets-lua';
import { composeLuaScript, defineLuaFragment } from './lua-fragment';
import { redisCallHashLua, redisCallSnapshotLua } from './redis-call-hash-lua';

/**
 * Confirms an event's publish: its mark becomes done, and an end leaves the outbox. KEYS[1] the
 * call hash, KEYS[2] the outbox. ARGV[1] the event id, ARGV[2] the call id. A mark that is not a
 * lease (done, ignored, gone) is left alone.
 */
export const markPublishedScript: RedisScript = defineRedisScript(
  composeLuaScript([
    redisCallHashLua,
    defineLuaFragment(
      'mark-published-body',
      `
local markField = eventMarkField(ARGV[1])
local mark = present(redis.call('HGET', KEYS[1], markField))
if mark == nil or tonumber(mark) == nil then return 0 end
redis.call('HSET', KEYS[1], markField, eventMarkDone)
if redis.call('HGET', KEYS[1], 'endEventId') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'endEvent')
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
`,
    ),
  ]),
);

/**
 * Records a failed publish so that a retry publishes at once: the lease deadline becomes 0, and
 * an end is due in the outbox now. Same keys and arguments as {@link markPublishedScript}.
 */
export const markPublishFailedScript: RedisScript = defineRedisScript(
  composeLuaScript([
    redisCallHashLua,
    defineLuaFragment(
      'mark-publish-failed-body',
      `
local markField = eventMarkField(ARGV[1])
local mark = present(redis.call('HGET', KEYS[1], markField))
if mark == nil or tonumber(mark) == nil then return 0 end
redis.call('HSET', KEYS[1], markField, 0)
if redis.call('HGET', KEYS[1], 'endEventId') == ARGV[1] then
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
end
return 1
`,
    ),
  ]),
);

/**
 * Claims unconfirmed `call.ended` events whose lease ran out, leasing them again. KEYS[1] the
 * outbox, KEYS[2 ..] the hashes of the calls it may claim. ARGV[1] the tenant's key base, ARGV[2]
 * now, ARGV[3] the lease, ARGV[4] the limit. Replies `{ claimed, needed }`: claimed, event JSON /
 * snapshot pairs; needed, the keys of due calls that were not declared, which it left alone (the
 * outbox names its calls, which only the script reads: run again with them declared, so that on
 * a Redis Cluster slot being migrated Redis checks every call key it touches).
 */
export const claimUnpublishedEndsScript: RedisScript = defineRedisScript(
  composeLuaScript([
    redisCallHashLua,
    redisCallSnapshotLua,
    defineLuaFragment(
      'claim-unpublished-ends-body',
      `
local declared = {}
for index = 2, #KEYS do declared[KEYS[index]] = true end
local now = tonumber(ARGV[2])
local leaseDeadline = now + tonumber(ARGV[3])
local claimed, needed = {}, {}
local callIds = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for _, callId in ipairs(callIds) do
  local callKey = ARGV[1] .. 'call:' .. callId
  if not declared[callKey] then
    needed[#needed + 1] = callKey
  else
    local fields = redis.call('HMGET', callKey, 'endEventId', 'endEvent')
    local endEventId, endEvent = present(fields[1]), present(fields[2])
    if endEventId == nil or endEvent == nil then
      redis.call('ZREM', KEYS[1], callId)
    else
      redis.call('ZADD', KEYS[1], leaseDeadline, callId)
      redis.call('HSET', callKey, eventMarkField(endEventId), leaseDeadline)
      table.insert(claimed, endEvent)
      table.insert(claimed, readSnapshot(callKey))
    end
  end
end
return { claimed, needed }
`,
    ),
  ]),
);

/**
 * Takes a call's alert rule once for the call's life: sets the field only when the call is
 * active and the field is not set yet. KEYS[1] the call hash, KEYS[2] the tenant's active calls.
 * ARGV[1] the call id, ARGV[2] the field. Replies 1 when it took it.
 */
export const claimCallAlertScript: RedisScript = defineRedisScript(`
if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then return 0 end
return redis.call('HSETNX', KEYS[1], ARGV[2], '1')
`);

/**
 * Folds the tenant's analytics log into its buckets (decision 0070), before a read of the buckets
 * and after a step that made the log long enough. KEYS[1] the log, KEYS[2 ..] the bucket keys it
 * may write. ARGV[1] the tenant's key base. Folds the lines whose buckets are declared, from the
 * log's head; replies `{ lines folded, keys needed }`, the keys empty when it folded every line
 * (else run it again with them declared).
 */
export const foldAnalyticsLogScript: RedisScript = defineRedisScript(
  composeLuaScript([
    analyticsBucketsLua,
    defineLuaFragment(
      'fold-analytics-log-body',
      `
local declared = {}
for index = 2, #KEYS do declared[KEYS[index]] = true end
local folded, needed = foldAnalyticsLog(ARGV[1], declared)
return { folded, needed }
`,
    ),
  ]),
);

/**
 * A page of an active index after a cursor, read at one position (atomically): the ids of the
 * calls that started before the cursor's start, or at it with a lower id. KEYS[1] the index
 * (scores: starts). ARGV[1] the cursor's start, ARGV[2] its call id (empty: after every call of
 * that start), ARGV[3] the limit. Newest first, ties by id from the highest, as `ZREVRANGE`.
 *
 * The cursor's call, when still there at that start, gives the position by its rank. Otherwise
 * (it ended) the position is counted: the calls that started later, and those of its start whose
 * id is not below its id, found by a binary search (ids compared by their bytes, as Redis orders
 * them; Lua's own `<` follows the server's locale).
 */
export const listActiveCallsAfterScript: RedisScript = defineRedisScript(`
local key, start, callId, limit = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local function bytesBelow(a, b)
  for index = 1, math.min(#a, #b) do
    local x, y = string.byte(a, index), string.byte(b, index)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local position
local score = callId ~= '' and redis.call('ZSCORE', key, callId)
if score and tonumber(score) == tonumber(start) then
  position = redis.call('ZREVRANK', key, callId) + 1
else
  local low, high = 0, redis.call('ZCOUNT', key, start, start)
  while low < high do
    local middle = math.floor((low + high) / 2)
    local id = redis.call('ZREVRANGEBYSCORE', key, start, start, 'LIMIT', middle, 1)[1]
    if bytesBelow(id, callId) then high = middle else low = middle + 1 end
  end
  position = redis.call('ZCOUNT', key, '(' .. start, '+inf') + low
end
return redis.call('ZREVRANGE', key, position, position + limit - 1)
`);
