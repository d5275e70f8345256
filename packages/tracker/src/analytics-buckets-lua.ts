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
 * `ended` is `{ status, durationMs, answered, agentId }`.
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

local function keepAnalyticsBucket(key, granularity, start, at, retentionMs)
  redis.call('PEXPIRE', key, math.max(1, start + granularity.sizeMs + retentionMs[granularity.name] - at))
end

-- The tenant's active-call count changed to level (by delta, 1 or -1).
local function recordLevel(base, level, delta, at, retentionMs)
  for _, granularity in ipairs(analyticsGranularities) do
    local start = analyticsBucketStart(granularity.sizeMs, at)
    local key = analyticsBucketKey(base, granularity, start)
    redis.call('HSETNX', key, 'open', level - delta)
    redis.call('HSET', key, 'level', level)
    local peak = tonumber(redis.call('HGET', key, 'peak'))
    if peak == nil or level > peak then redis.call('HSET', key, 'peak', level) end
    if delta > 0 then redis.call('HINCRBY', key, 'started', 1) end
    keepAnalyticsBucket(key, granularity, start, at, retentionMs)
  end
end

-- A call ended: counted where the end was decided; its agent's talk time is spread over the
-- buckets the call spanned (no further back than the retention).
local function recordEnd(base, ended, at, retentionMs)
  for _, granularity in ipairs(analyticsGranularities) do
    local sizeMs = granularity.sizeMs
    local start = analyticsBucketStart(sizeMs, at)
    local key = analyticsBucketKey(base, granularity, start)
    redis.call('HINCRBY', key, 'ended', 1)
    redis.call('HINCRBY', key, ${toLuaLiteral(endedStatusPrefix)} .. ended.status, 1)
    if ended.answered then
      redis.call('HINCRBY', key, 'answered', 1)
      redis.call('HINCRBY', key, 'durationMs', ended.durationMs)
    end
    keepAnalyticsBucket(key, granularity, start, at, retentionMs)
    if granularity.tracksAgentTime and ended.agentId ~= nil and ended.durationMs > 0 then
      local from = math.max(at - ended.durationMs, at - retentionMs[granularity.name])
      local talkStart = analyticsBucketStart(sizeMs, from)
      while talkStart <= at do
        local overlap = math.min(at, talkStart + sizeMs) - math.max(from, talkStart)
        if overlap > 0 then
          local talkKey = analyticsBucketKey(base, granularity, talkStart)
          local agentsKey = talkKey .. ${toLuaLiteral(agentsSuffix)}
          redis.call('HINCRBY', talkKey, 'agentTalkMs', overlap)
          redis.call('SADD', agentsKey, ended.agentId)
          keepAnalyticsBucket(talkKey, granularity, talkStart, at, retentionMs)
          keepAnalyticsBucket(agentsKey, granularity, talkStart, at, retentionMs)
        end
        talkStart = talkStart + sizeMs
      end
    end
  end
end
`,
);
