import { defineLuaFragment } from './lua-fragment';
import { redisCallHashPrefixes, redisCallSnapshotFields, redisEventMarks } from './redis-call-hash';
import { toLuaLiteral } from './to-lua-literal';

/**
 * Reading and naming the fields of the call hash (layout and encodings in `redis-call-hash.ts`,
 * whose constants this fragment is generated from).
 */
export const redisCallHashLua = defineLuaFragment(
  'redis-call-hash',
  `
local snapshotFields = ${toLuaLiteral(redisCallSnapshotFields)}
local eventMarkDone = ${toLuaLiteral(redisEventMarks.done)}
local eventMarkIgnored = ${toLuaLiteral(redisEventMarks.ignored)}

-- HGET and HMGET answer false for a missing field; nil reads better in the rest of the script.
local function present(value)
  if value == false then return nil end
  return value
end

local function readSnapshot(callKey)
  return redis.call('HMGET', callKey, unpack(snapshotFields))
end

local function detailField(name)
  return ${toLuaLiteral(redisCallHashPrefixes.detail)} .. name
end

local function positionField(name)
  return ${toLuaLiteral(redisCallHashPrefixes.position)} .. name
end

local function eventMarkField(eventId)
  return ${toLuaLiteral(redisCallHashPrefixes.eventMark)} .. eventId
end
`,
);
