import { defineLuaFragment } from './lua-fragment';

/**
 * `call-position.ts` in Lua, plus the text form positions are stored in (`p:<detail>` fields,
 * see `redis-call-hash.ts`): `<sequence>:<occurredAt ms>:<eventId>`. Event ids are compared
 * byte by byte, not with Lua's `<` (which follows the server's locale).
 */
export const callPositionLua = defineLuaFragment(
  'call-position',
  `
local function compareBytes(a, b)
  for index = 1, math.min(#a, #b) do
    local x, y = string.byte(a, index), string.byte(b, index)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  if #a == #b then return 0 end
  if #a < #b then return -1 end
  return 1
end

-- Times and sequences stay the text they came as: Lua would write a large number with an exponent.
local function encodeCallPosition(sequenceText, atText, eventId)
  return (sequenceText or '') .. ':' .. atText .. ':' .. eventId
end

local function decodeCallPosition(text)
  local sequence, at, eventId = string.match(text, '^([^:]*):([^:]*):(.*)$')
  return { sequence = tonumber(sequence), at = tonumber(at), eventId = eventId }
end

-- By time, then (at the same time) by sequence, none first, then by event id: a total order.
local function compareCallPositions(a, b)
  if a.at ~= b.at then
    if a.at < b.at then return -1 end
    return 1
  end
  if a.sequence ~= b.sequence then
    if a.sequence == nil then return -1 end
    if b.sequence == nil then return 1 end
    if a.sequence < b.sequence then return -1 end
    return 1
  end
  return compareBytes(a.eventId, b.eventId)
end
`,
);
