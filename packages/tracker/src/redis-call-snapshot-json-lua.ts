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
 * Strings go through `cjson.encode` only when they hold a character JSON escapes; details are the
 * stored JSON, as the event carried it; times are written like `Date.prototype.toISOString`.
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

local function jsonString(text)
  if string.find(text, '[%c"\\\\]') then return cjson.encode(text) end
  return '"' .. text .. '"'
end

-- Date.prototype.toISOString of a time in ms (days to a civil date: H. Hinnant's algorithm).
local function isoTime(msText)
  local ms = tonumber(msText)
  local seconds = math.floor(ms / 1000)
  local millis = ms - seconds * 1000
  local days = math.floor(seconds / 86400)
  local daySeconds = seconds - days * 86400
  local shifted = days + 719468
  local era = math.floor(shifted / 146097)
  local dayOfEra = shifted - era * 146097
  local yearOfEra = math.floor((dayOfEra - math.floor(dayOfEra / 1460) + math.floor(dayOfEra / 36524)
    - math.floor(dayOfEra / 146096)) / 365)
  local dayOfYear = dayOfEra - (365 * yearOfEra + math.floor(yearOfEra / 4) - math.floor(yearOfEra / 100))
  local monthIndex = math.floor((5 * dayOfYear + 2) / 153)
  local day = dayOfYear - math.floor((153 * monthIndex + 2) / 5) + 1
  local month = monthIndex < 10 and monthIndex + 3 or monthIndex - 9
  local year = yearOfEra + era * 400
  if month <= 2 then year = year + 1 end
  local yearText
  if year >= 0 and year <= 9999 then
    yearText = string.format('%04d', year)
  elseif year > 9999 then
    yearText = string.format('+%06d', year)
  else
    yearText = string.format('-%06d', -year)
  end
  return string.format('%s-%02d-%02dT%02d:%02d:%02d.%03dZ', yearText, month, day,
    math.floor(daySeconds / 3600), math.floor(daySeconds % 3600 / 60), daySeconds % 60, millis)
end

local function callSnapshotJson(snapshot)
  local field = snapshotField
  local parts = {
    '{"tenantId":', jsonString(snapshot[field.tenantId]),
    ',"callId":', jsonString(snapshot[field.callId]),
    ',"provider":', jsonString(snapshot[field.provider]),
    ',"active":', isActiveStatus(present(snapshot[field.status])) and 'true' or 'false',
    ',"createdAt":"', isoTime(snapshot[field.createdAt]),
    '","updatedAt":"', isoTime(present(snapshot[field.updatedAt]) or snapshot[field.createdAt]),
    '","version":', present(snapshot[field.version]) or '0',
  }
  for _, entry in ipairs(snapshotTextFields) do
    local value = present(snapshot[entry[2]])
    if value ~= nil then parts[#parts + 1] = ',"' .. entry[1] .. '":' .. jsonString(value) end
  end
  for _, entry in ipairs(snapshotTimeFields) do
    local value = present(snapshot[entry[2]])
    if value ~= nil then parts[#parts + 1] = ',"' .. entry[1] .. '":"' .. isoTime(value) .. '"' end
  end
  for _, entry in ipairs(snapshotDetailFields) do
    local value = present(snapshot[entry[2]])
    if value ~= nil then parts[#parts + 1] = ',"' .. entry[1] .. '":' .. value end
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
