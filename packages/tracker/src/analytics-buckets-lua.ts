import {
  analyticsBucketMs,
  analyticsGranularities,
  analyticsTracksAgentTime,
} from './analytics-granularity';
import { defineLuaFragment } from './lua-fragment';
import { redisAnalyticsBucketLayout } from './redis-analytics-bucket';
import { toLuaLiteral } from './to-lua-literal';

const { keyInfix, endedStatusPrefix, agentsSuffix } = redisAnalyticsBucketLayout;

/**
 * `create-memory-analytics.ts` in Lua: `recordLevel` and `recordEnd` write the same buckets by
 * the same rules (layout in `redis-analytics-bucket.ts`), and give every bucket they write the
 * expiry of its retention. `retentionMs` is the transition's `analyticsRetentionMs` (numbers);
 * `ended` is `{ status, durationMs, answered, agentId, neverActive }` (`neverActive`: the call was
 * first seen ended, so its end counts it as started too).
 */
export const analyticsBucketsLua = defineLuaFragment(
  'analytics-buckets',
  `
local analyticsGranularities = ${toLuaLiteral(
    analyticsGranularities.map((name) => ({
      name,
      sizeMs: analyticsBucketMs[name],
      tracksAgentTime: analyticsTracksAgentTime[name],
    })),
  )}

local function analyticsBucketStart(sizeMs, at)
  return at - (at % sizeMs)
end

local function analyticsBucketKey(base, granularity, start)
  return base .. ${toLuaLiteral(keyInfix)} .. granularity.name .. ':' .. string.format('%d', start)
end

-- Whole numbers go to Redis as text made with '%d': a Lua number is written by Redis with '%.17g',
-- which costs about twice as much; constant counts are string literals (decision 0040).
local function keepAnalyticsBucket(key, granularity, start, at, retentionMs)
  redis.call('PEXPIRE', key,
    string.format('%d', math.max(1, start + granularity.sizeMs + retentionMs[granularity.name] - at)))
end

-- The tenant's active-call count changed to level (by delta, 1 or -1). One read and one write
-- per bucket; the expiry is set when the bucket gets its first level (the same absolute time for
-- every write to it, so later writes need not repeat it).
local function recordLevel(base, level, delta, at, retentionMs)
  local levelText = string.format('%d', level)
  for _, granularity in ipairs(analyticsGranularities) do
    local start = analyticsBucketStart(granularity.sizeMs, at)
    local key = analyticsBucketKey(base, granularity, start)
    local bucket = redis.call('HMGET', key, 'open', 'peak', 'started')
    local writes = { 'level', levelText }
    if not bucket[1] then
      writes[#writes + 1] = 'open'
      writes[#writes + 1] = string.format('%d', level - delta)
    end
    local peak = tonumber(bucket[2])
    if peak == nil or level > peak then
      writes[#writes + 1] = 'peak'
      writes[#writes + 1] = levelText
    end
    if delta > 0 then
      writes[#writes + 1] = 'started'
      writes[#writes + 1] = string.format('%d', (tonumber(bucket[3]) or 0) + 1)
    end
    redis.call('HSET', key, unpack(writes))
    if not bucket[1] then keepAnalyticsBucket(key, granularity, start, at, retentionMs) end
  end
end

-- A call ended: counted where the end was decided; its agent's talk time is spread over the
-- buckets the call spanned (no further back than the retention). Counters stay HINCRBYs (exact
-- 64-bit sums); a bucket's expiry is set by the first write of each kind to it.
local function recordEnd(base, ended, at, retentionMs)
  for _, granularity in ipairs(analyticsGranularities) do
    local sizeMs = granularity.sizeMs
    local start = analyticsBucketStart(sizeMs, at)
    local key = analyticsBucketKey(base, granularity, start)
    local endedCount = redis.call('HINCRBY', key, 'ended', '1')
    if ended.neverActive then redis.call('HINCRBY', key, 'started', '1') end
    redis.call('HINCRBY', key, ${toLuaLiteral(endedStatusPrefix)} .. ended.status, '1')
    if ended.answered then
      redis.call('HINCRBY', key, 'answered', '1')
      redis.call('HINCRBY', key, 'durationMs', ended.durationMs)
    end
    if endedCount == 1 then keepAnalyticsBucket(key, granularity, start, at, retentionMs) end
    if granularity.tracksAgentTime and ended.agentId ~= nil and ended.durationMs > 0 then
      local from = math.max(at - ended.durationMs, at - retentionMs[granularity.name])
      local talkStart = analyticsBucketStart(sizeMs, from)
      while talkStart <= at do
        local overlap = math.min(at, talkStart + sizeMs) - math.max(from, talkStart)
        if overlap > 0 then
          local talkKey = analyticsBucketKey(base, granularity, talkStart)
          local agentsKey = talkKey .. ${toLuaLiteral(agentsSuffix)}
          local talkMs = redis.call('HINCRBY', talkKey, 'agentTalkMs', overlap)
          redis.call('SADD', agentsKey, ended.agentId)
          if talkMs == overlap then
            -- The first talk time in the bucket: its hash may be new, its agents set is.
            keepAnalyticsBucket(talkKey, granularity, talkStart, at, retentionMs)
            keepAnalyticsBucket(agentsKey, granularity, talkStart, at, retentionMs)
          end
        end
        talkStart = talkStart + sizeMs
      end
    end
  end
end
`,
);
