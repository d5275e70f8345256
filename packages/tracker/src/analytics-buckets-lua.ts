import {
  analyticsBucketMs,
  analyticsGranularities,
  analyticsTracksAgentTime,
} from './analytics-granularity';
import { defineLuaFragment } from './lua-fragment';
import { redisAnalyticsBucketLayout } from './redis-analytics-bucket';
import { toLuaLiteral } from './to-lua-literal';

const { keyInfix, endedStatusPrefix, agentsSuffix, logKey, foldAfterRecords } =
  redisAnalyticsBucketLayout;

/**
 * `create-memory-analytics.ts` in Lua, written in batches (decision 0070). The apply step does
 * not write the buckets: `analyticsLevelRecord` and `analyticsEndRecord` describe what happened
 * in one line each, `appendAnalyticsRecords` pushes the step's lines onto the tenant's log, and
 * `foldAnalyticsLog` writes the buckets from the log by the memory store's rules (layout in
 * `redis-analytics-bucket.ts`), one write per bucket and field however many lines it folds. The
 * log is folded when it reaches `foldAfterRecords` lines, by a fold script the store runs right
 * after the step that reached it, and before every read of the buckets, so a read sees every
 * recorded line. The fold writes only keys its script declared (it answers the keys it needs
 * otherwise): on a Redis Cluster slot being migrated, Redis checks only declared keys.
 *
 * A line is `<kind> <at> <minute, hour, day retention ms> <rest>`, the retention being the
 * transition's `analyticsRetentionMs` (numbers) when it was recorded:
 * - `L ... <level> <delta>`: the tenant's active-call count changed to level (by delta, 1 or -1);
 * - `E ... <status> <durationMs> <answered 0|1> <neverActive 0|1> <agentId, or nothing>`: a call
 *   ended (`neverActive`: it was first seen ended, so its end counts it as started too); the agent
 *   last, as it may hold spaces.
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
local analyticsLogKey = ${toLuaLiteral(logKey)}
local analyticsFoldAfterRecords = ${toLuaLiteral(foldAfterRecords)}

local function analyticsBucketStart(sizeMs, at)
  return at - (at % sizeMs)
end

local function analyticsBucketKey(base, granularity, start)
  return base .. ${toLuaLiteral(keyInfix)} .. granularity.name .. ':' .. string.format('%d', start)
end

-- Whole numbers go to Redis as text made with '%d': a Lua number is written by Redis with '%.17g'.
local function analyticsRecordHead(kind, at, retentionMs)
  return string.format('%s %d %d %d %d ', kind, at, retentionMs.minute, retentionMs.hour,
    retentionMs.day)
end

local function analyticsLevelRecord(level, delta, at, retentionMs)
  return analyticsRecordHead('L', at, retentionMs) .. string.format('%d %d', level, delta)
end

-- ended: { status, durationMs, answered, agentId, neverActive }.
local function analyticsEndRecord(ended, at, retentionMs)
  return analyticsRecordHead('E', at, retentionMs) .. string.format('%s %d %d %d ', ended.status,
    ended.durationMs, ended.answered and 1 or 0, ended.neverActive and 1 or 0) .. (ended.agentId or '')
end

-- The log's expiry: the longest a line can matter, a day bucket and the longest retention.
local function analyticsLogTtl(retentionMs)
  return string.format('%d', ${toLuaLiteral(analyticsBucketMs.day)}
    + math.max(retentionMs.minute, retentionMs.hour, retentionMs.day))
end

-- What lines[1 .. lineCount] add to the buckets, in memory (nothing written): the buckets in order
-- of first use, each with its key, the first line that touched it (firstLine) and, when an agent
-- talked in it, its agents and the first line that named one (agentsFirstLine).
--
-- Lines of one batch mostly share their buckets and retention: each granularity's last bucket,
-- the retentions and the status fields are kept at hand, not made again from text for each line.
local function sumAnalyticsLines(base, lines, lineCount)
  local buckets, order = {}, {}
  local newestAt = nil
  local lineIndex = 0
  local lastBuckets = {}
  local function bucketOf(granularity, start, retentionMs)
    local last = lastBuckets[granularity]
    if last ~= nil and last.start == start then return last end
    local bucketKey = analyticsBucketKey(base, granularity, start)
    local bucket = buckets[bucketKey]
    if bucket == nil then
      bucket = { key = bucketKey, start = start,
        deadline = start + granularity.sizeMs + retentionMs[granularity.name],
        counts = {}, countNames = {}, firstLine = lineIndex }
      buckets[bucketKey] = bucket
      order[#order + 1] = bucket
    end
    lastBuckets[granularity] = bucket
    return bucket
  end
  local retentions, statusFields = {}, {}
  local function count(bucket, name, amount)
    local counted = bucket.counts[name]
    if counted == nil then bucket.countNames[#bucket.countNames + 1] = name end
    bucket.counts[name] = (counted or 0) + amount
  end

  for index = 1, lineCount do
    lineIndex = index
    local line = lines[index]
    local isLevel = string.byte(line, 1) == 76 -- L
    local atText, retentionText, levelText, deltaText
    local status, durationText, answered, neverActive, agentId
    if isLevel then
      atText, retentionText, levelText, deltaText =
        string.match(line, '^L (%-?%d+) (%d+ %d+ %d+) (%-?%d+) (%-?%d+)$')
    else
      atText, retentionText, status, durationText, answered, neverActive, agentId =
        string.match(line, '^E (%-?%d+) (%d+ %d+ %d+) (%S+) (%-?%d+) ([01]) ([01]) (.*)$')
    end
    local at = tonumber(atText)
    if newestAt == nil or at > newestAt then newestAt = at end
    local retentionMs = retentions[retentionText]
    if retentionMs == nil then
      local minute, hour, day = string.match(retentionText, '^(%d+) (%d+) (%d+)$')
      retentionMs = { minute = tonumber(minute), hour = tonumber(hour), day = tonumber(day) }
      retentions[retentionText] = retentionMs
    end
    if isLevel then
      local level, delta = tonumber(levelText), tonumber(deltaText)
      for granularityIndex = 1, #analyticsGranularities do
        local granularity = analyticsGranularities[granularityIndex]
        local bucket = bucketOf(granularity, analyticsBucketStart(granularity.sizeMs, at), retentionMs)
        if bucket.open == nil then bucket.open = level - delta end
        bucket.level = level
        if bucket.peak == nil or level > bucket.peak then bucket.peak = level end
        if delta > 0 then count(bucket, 'started', 1) end
      end
    else
      local durationMs = tonumber(durationText)
      if agentId == '' then agentId = nil end
      for granularityIndex = 1, #analyticsGranularities do
        local granularity = analyticsGranularities[granularityIndex]
        local sizeMs = granularity.sizeMs
        local bucket = bucketOf(granularity, analyticsBucketStart(sizeMs, at), retentionMs)
        count(bucket, 'ended', 1)
        if neverActive == '1' then count(bucket, 'started', 1) end
        local statusField = statusFields[status]
        if statusField == nil then
          statusField = ${toLuaLiteral(endedStatusPrefix)} .. status
          statusFields[status] = statusField
        end
        count(bucket, statusField, 1)
        if answered == '1' then
          count(bucket, 'answered', 1)
          count(bucket, 'durationMs', durationMs)
        end
        if granularity.tracksAgentTime and agentId ~= nil and durationMs > 0 then
          -- The agent's talk time, spread over the buckets the call spanned (no further back
          -- than the retention).
          local from = math.max(at - durationMs, at - retentionMs[granularity.name])
          local talkStart = analyticsBucketStart(sizeMs, from)
          while talkStart <= at do
            local overlap = math.min(at, talkStart + sizeMs) - math.max(from, talkStart)
            if overlap > 0 then
              local talk = bucketOf(granularity, talkStart, retentionMs)
              count(talk, 'agentTalkMs', overlap)
              if talk.agents == nil then
                talk.agents = {}
                talk.agentsFirstLine = lineIndex
              end
              talk.agents[agentId] = true
            end
            talkStart = talkStart + sizeMs
          end
        end
      end
    end
  end
  return order, newestAt
end

-- Folds the tenant's log into its buckets and takes the folded lines off it. Each bucket and
-- agents set written gets the expiry of its retention (start + size + retention), counted from
-- the newest folded line's time (at least 1 ms, as a late write would get).
--
-- Writes only keys the script declared (declared: a set of key names), so that on a Redis
-- Cluster slot being migrated Redis refuses the fold (TRYAGAIN) rather than letting it write a
-- bucket that already moved a second time on this node: the buckets depend on what the log
-- holds, which only the script reads. Folds the longest run of lines from the log's head whose
-- keys are declared, and answers the number of lines folded and the keys of the lines after it
-- (empty when it folded them all): run again with those declared, it folds the rest.
local function foldAnalyticsLog(base, declared)
  local key = base .. analyticsLogKey
  local lines = redis.call('LRANGE', key, 0, -1)
  if #lines == 0 then return 0, {} end
  local count = #lines
  local order, newestAt = sumAnalyticsLines(base, lines, count)
  local needed, firstUndeclared = {}, nil
  local function need(neededKey, line)
    needed[#needed + 1] = neededKey
    if not declared[neededKey] and (firstUndeclared == nil or line < firstUndeclared) then
      firstUndeclared = line
    end
  end
  for _, bucket in ipairs(order) do
    need(bucket.key, bucket.firstLine)
    if bucket.agents ~= nil then need(bucket.key .. ${toLuaLiteral(agentsSuffix)}, bucket.agentsFirstLine) end
  end
  if firstUndeclared ~= nil then
    count = firstUndeclared - 1
    if count == 0 then return 0, needed end
    order, newestAt = sumAnalyticsLines(base, lines, count)
  else
    needed = {}
  end
  if count == #lines then redis.call('DEL', key) else redis.call('LTRIM', key, count, -1) end

  for _, bucket in ipairs(order) do
    local ttl = string.format('%d', math.max(1, bucket.deadline - newestAt))
    if bucket.level ~= nil then
      -- The level's first value in the bucket is its open; its peak, the highest of any batch.
      local stored = redis.call('HMGET', bucket.key, 'open', 'peak')
      local writes = { 'level', string.format('%d', bucket.level) }
      if not stored[1] then
        writes[#writes + 1] = 'open'
        writes[#writes + 1] = string.format('%d', bucket.open)
      end
      local storedPeak = tonumber(stored[2])
      if storedPeak == nil or bucket.peak > storedPeak then
        writes[#writes + 1] = 'peak'
        writes[#writes + 1] = string.format('%d', bucket.peak)
      end
      redis.call('HSET', bucket.key, unpack(writes))
    end
    -- Counters stay HINCRBYs: exact 64-bit sums.
    for _, name in ipairs(bucket.countNames) do
      redis.call('HINCRBY', bucket.key, name, string.format('%d', bucket.counts[name]))
    end
    redis.call('PEXPIRE', bucket.key, ttl)
    if bucket.agents ~= nil then
      local agents = {}
      for agentId in pairs(bucket.agents) do agents[#agents + 1] = agentId end
      local agentsKey = bucket.key .. ${toLuaLiteral(agentsSuffix)}
      redis.call('SADD', agentsKey, unpack(agents))
      redis.call('PEXPIRE', agentsKey, ttl)
    end
  end
  return count, needed
end

-- Pushes the step's lines onto the tenant's log (kept as long as its longest retention). Answers
-- true when the log is long enough to be folded: the store folds it after the step (the step
-- cannot, as it declares no bucket key).
local function appendAnalyticsRecords(base, lines, retentionMs)
  if #lines == 0 then return false end
  local key = base .. analyticsLogKey
  local length = redis.call('RPUSH', key, unpack(lines))
  redis.call('PEXPIRE', key, analyticsLogTtl(retentionMs))
  return length >= analyticsFoldAfterRecords
end
`,
);
