import { defineLuaFragment } from './lua-fragment';
import { redisCallHashPrefixes, redisCallSnapshotFields, redisEventMarks } from './redis-call-hash';
import { toLuaLiteral } from './to-lua-literal';

/**
 * Naming the fields of the call hash and reading them (layout and encodings in
 * `redis-call-hash.ts`, whose constants this fragment is generated from).
 */
export const redisCallHashLua = defineLuaFragment(
  'redis-call-hash',
  `
local eventMarkDone = ${toLuaLiteral(redisEventMarks.done)}
local eventMarkIgnored = ${toLuaLiteral(redisEventMarks.ignored)}

-- HGET and HMGET answer false for a missing field; nil reads better in the rest of the script.
local function present(value)
  if value == false then return nil end
  return value
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

/**
 * Reading a call's snapshot fields (`redisCallSnapshotFields`) in one `HMGET`: apart from
 * `redis-call-hash` because scripts that only mark events do not need it, and every script run
 * builds the tables and functions it is given.
 */
export const redisCallSnapshotLua = defineLuaFragment(
  'redis-call-snapshot',
  `
local snapshotFields = ${toLuaLiteral(redisCallSnapshotFields)}

local function readSnapshot(callKey)
  return redis.call('HMGET', callKey, unpack(snapshotFields))
end
`,
);
