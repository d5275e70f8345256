import { callDetailNames } from './call-details';
import { defineLuaFragment } from './lua-fragment';
import { redisCallHashPrefixes, redisCallSnapshotFields } from './redis-call-hash';
import { toLuaLiteral } from './to-lua-literal';

const fieldIndex = (name: string): number => {
  const index = redisCallSnapshotFields.indexOf(name);
  if (index === -1) throw new Error(`${name} is not a snapshot field`);
  return index + 1; // Lua arrays count from 1
};

/** Snapshot fields written as JSON strings when present, in `toCallSnapshot`'s order. */
const textFields = ['status', 'branchId', 'agentId', 'userId', 'direction', 'from', 'to'] as const;
/** Snapshot fields stored as ms and written as ISO 8601 when present. */
const timeFields = ['startedAt', 'answeredAt', 'endedAt'] as const;

/**
 * `to-call-snapshot.ts` in Lua: the JSON text of a call's snapshot, from the `HMGET` of
 * `redisCallSnapshotFields` that `readSnapshot` returns, equal (as JSON) to what
 * `toCallSnapshot` makes of the same call, `durationMs` worked out as `effective-duration-ms.ts`
 * does. What the tracker publishes as `data.call` when the bus's publish runs inside the apply
 * script (decision 0030). Uses `call-status-rank` (`isActiveStatus`).
 *
 * Strings are escaped by one `cjson.encode`; details are the stored JSON, as the event carried it;
 * times are written like `Date.prototype.toISOString`.
 */
export const redisCallSnapshotJsonLua = defineLuaFragment(
  'redis-call-snapshot-json',
  `
local snapshotTextFields = ${toLuaLiteral(textFields.map((name) => [name, fieldIndex(name)]))}
local snapshotTimeFields = ${toLuaLiteral(timeFields.map((name) => [name, fieldIndex(name)]))}
local snapshotDetailFields = ${toLuaLiteral(
    callDetailNames
      .filter((name) => name !== 'durationMs')
      .map((name) => [name, fieldIndex(`${redisCallHashPrefixes.detail}${name}`)]),
  )}
local snapshotField = ${toLuaLiteral({
    tenantId: fieldIndex('tenantId'),
    callId: fieldIndex('callId'),
    provider: fieldIndex('provider'),
    status: fieldIndex('status'),
    answeredAt: fieldIndex('answeredAt'),
    endedAt: fieldIndex('endedAt'),
    createdAt: fieldIndex('createdAt'),
    updatedAt: fieldIndex('updatedAt'),
    version: fieldIndex('version'),
    durationMs: fieldIndex(`${redisCallHashPrefixes.detail}durationMs`),
  })}

-- Date.prototype.toISOString of a time in ms (days to a civil date: H. Hinnant's algorithm), in
-- plain arithmetic: Lua's % floors, so it holds for times before 1970 too.
local function computeIsoTime(msText)
  local ms = tonumber(msText)
  local millis = ms % 1000
  local seconds = (ms - millis) / 1000
  local daySeconds = seconds % 86400
  local shifted = (seconds - daySeconds) / 86400 + 719468
  local dayOfEra = shifted % 146097
  local era = (shifted - dayOfEra) / 146097
  local a = dayOfEra - dayOfEra % 1460
  local yearOfEra = dayOfEra - a / 1460 + (dayOfEra - dayOfEra % 36524) / 36524
    - (dayOfEra - dayOfEra % 146096) / 146096
  yearOfEra = (yearOfEra - yearOfEra % 365) / 365
  local dayOfYear = dayOfEra - 365 * yearOfEra - (yearOfEra - yearOfEra % 4) / 4
    + (yearOfEra - yearOfEra % 100) / 100
  local monthIndex = 5 * dayOfYear + 2
  monthIndex = (monthIndex - monthIndex % 153) / 153
  local dayTimes = 153 * monthIndex + 2
  local day = dayOfYear - (dayTimes - dayTimes % 5) / 5 + 1
  local month = monthIndex < 10 and monthIndex + 3 or monthIndex - 9
  local year = yearOfEra + era * 400
  if month <= 2 then year = year + 1 end
  local minuteSeconds = daySeconds % 3600
  local second = minuteSeconds % 60
  local yearFormat = '%04d'
  if year > 9999 then yearFormat = '+%06d' elseif year < 0 then yearFormat = '-%06d' year = -year end
  return string.format(yearFormat .. '-%02d-%02dT%02d:%02d:%02d.%03dZ', year, month, day,
    (daySeconds - minuteSeconds) / 3600, (minuteSeconds - second) / 60, second, millis)
end

-- isoTime below, the day part worked out once per day and kept (the whole text of the times of a
-- day differs only after the 'T'): the calendar arithmetic and string.format cost Redis about
-- 15,000 instructions a time, the lookups about 5,500. In a Redis Functions library the days
-- stay known between calls; at most isoDaysKept of them, then they are worked out again.
local isoDaysKept = 1000
local isoDays = {}
local isoDayCount = 0
local twoDigits = ${toLuaLiteral(Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0')))}
local oneDigit = ${toLuaLiteral(Array.from({ length: 10 }, (_, n) => String(n)))}

local function isoTime(msText)
  local ms = tonumber(msText)
  local millis = ms % 1000
  local seconds = (ms - millis) / 1000
  local daySeconds = seconds % 86400
  local dayNumber = (seconds - daySeconds) / 86400
  local day = isoDays[dayNumber]
  if day == nil then
    -- 'YYYY-MM-DDT' (or a six-digit year with its sign): all but the time of day.
    day = string.sub(computeIsoTime(msText), 1, -14)
    if isoDayCount >= isoDaysKept then
      isoDays = {}
      isoDayCount = 0
    end
    isoDays[dayNumber] = day
    isoDayCount = isoDayCount + 1
  end
  local minuteSeconds = daySeconds % 3600
  local second = minuteSeconds % 60
  local belowHundred = millis % 100
  -- Lua tables count from 1: the digit tables are read one past the value.
  return day .. twoDigits[(daySeconds - minuteSeconds) / 3600 + 1] .. ':'
    .. twoDigits[(minuteSeconds - second) / 60 + 1] .. ':' .. twoDigits[second + 1] .. '.'
    .. oneDigit[(millis - belowHundred) / 100 + 1] .. twoDigits[belowHundred + 1] .. 'Z'
end

-- A time's ISO text: the transition's own times come with theirs (most of a snapshot's times are
-- the event's, or its tracker time), the others are worked out.
local function snapshotIsoTime(msText, transition)
  if transition ~= nil then
    if msText == transition.at then return transition.atIso end
    if msText == transition.occurredAt then return transition.occurredAtIso end
  end
  return isoTime(msText)
end

-- Every string field goes through one cjson.encode (escaping done in C), numbers, booleans and
-- the stored detail JSON are appended as text (cjson would round long numbers). transition, when
-- given, is the one that just changed the call (its times' ISO texts).
local function callSnapshotJson(snapshot, transition)
  local field = snapshotField
  local strings = {
    tenantId = snapshot[field.tenantId],
    callId = snapshot[field.callId],
    provider = snapshot[field.provider],
  }
  for _, entry in ipairs(snapshotTextFields) do
    local value = snapshot[entry[2]]
    if value then strings[entry[1]] = value end
  end
  local updatedAt = present(snapshot[field.updatedAt]) or snapshot[field.createdAt]
  local parts = {
    string.sub(cjson.encode(strings), 1, -2),
    ',"active":', isActiveStatus(present(snapshot[field.status])) and 'true' or 'false',
    ',"createdAt":"', snapshotIsoTime(snapshot[field.createdAt], transition),
    '","updatedAt":"', snapshotIsoTime(updatedAt, transition),
    '","version":', present(snapshot[field.version]) or '0',
  }
  for _, entry in ipairs(snapshotTimeFields) do
    local value = snapshot[entry[2]]
    if value then
      parts[#parts + 1] = ',"' .. entry[1] .. '":"' .. snapshotIsoTime(value, transition) .. '"'
    end
  end
  for _, entry in ipairs(snapshotDetailFields) do
    local value = snapshot[entry[2]]
    if value then parts[#parts + 1] = ',"' .. entry[1] .. '":' .. value end
  end
  -- effective-duration-ms.ts: the provider's figure, else from the answer to the end, else 0.
  local durationMs = present(snapshot[field.durationMs])
  local endedAt = present(snapshot[field.endedAt])
  if durationMs == nil and endedAt ~= nil then
    local answeredAt = present(snapshot[field.answeredAt])
    durationMs = answeredAt == nil and '0'
      or string.format('%d', math.max(0, tonumber(endedAt) - tonumber(answeredAt)))
  end
  if durationMs ~= nil then parts[#parts + 1] = ',"durationMs":' .. durationMs end
  parts[#parts + 1] = '}'
  return table.concat(parts)
end
`,
);
