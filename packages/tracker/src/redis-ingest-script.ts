import type { CallEvent } from '@calltrack/core';
import { composeLuaScript, defineLuaFragment } from './lua-fragment';
import {
  applyTransitionFragments,
  noActiveCount,
  redisTransitionArgFields,
} from './redis-apply-transition-script';
import { redisCallSnapshotJsonLua } from './redis-call-snapshot-json-lua';
import { toLuaLiteral } from './to-lua-literal';

/** In the ingest script's reply, the outcome of an event whose step failed (then its message). */
export const ingestFailedOutcome = 'error';

/**
 * The body of the ingest script (decisions 0030, 0038): applies a batch of one tenant's
 * transitions in order, each as the apply script's body does, and publishes each applied event
 * to the Redis bus with the bus's functions, the tenant's stream opened once and closed once for
 * the whole batch (one `TIME`, one read and one write of the bus's meta hash, one live message).
 *
 * KEYS: the call hash of each event, in order (one tenant, so one hash slot on Redis Cluster).
 * ARGV[1]: the tenant's bus meta key; then per event the number of its arguments and the
 * arguments: the apply body's (`encodeApplyTransitionArgs`, `publishedInScript`) followed by the
 * event's JSON up to where `data.call` goes ({@link redisEventJsonHead}).
 *
 * Replies one element per event: the apply body's reply, `{ outcome, activeCount, activated,
 * snapshot, published }` with `published = { epoch, seq, duplicate (0|1), register (0|1),
 * snapshot JSON }` for an event it published (the snapshot then left empty: the store reads the
 * call from the JSON), or `{ 'error', message }` when the event's step failed. Each event runs
 * under `pcall`, so one that fails fails alone and the stream is still closed for the others
 * (its writes made before the failure stay, as with a script of its own).
 */
const ingestBatchBodyLua = defineLuaFragment(
  'ingest-batch-body',
  `
local noActiveCount = ${toLuaLiteral(noActiveCount)}
local publishedOutcomes = { changed = true, ended = true, enriched = true, unpublished = true }
local busMetaKey = ARGV[1]
local busStream = nil

local function ingestCallEvent(callKey, first, last)
  local base = ARGV[first]
  local transition = decodeTransitionArgs(first + 1)
  local detailsAt = first + 1 + ${redisTransitionArgFields.length}
  transition.endEvent = ARGV[detailsAt]
  local details = {}
  for index = detailsAt + 2, last - 1, 2 do
    details[#details + 1] = { name = ARGV[index], json = ARGV[index + 1] }
  end
  local applied = applyCallTransition(callKey, transition, details)
  local activeCount, activated = updateCallIndexes(base, callKey, transition, applied)
  local snapshot = readSnapshot(callKey)
  local reply = { applied.outcome, activeCount or noActiveCount, activated and 1 or 0, snapshot }
  if publishedOutcomes[applied.outcome] then
    local callJson = callSnapshotJson(snapshot)
    busStream = busStream or calltrack_open(busMetaKey)
    local seq, duplicate, register = calltrack_publish(busStream,
      ARGV[last] .. '"call":' .. callJson .. '}}', transition.eventId)
    reply[4] = {}
    reply[5] = { busStream.epoch, seq, duplicate, register, callJson }
  end
  return reply
end

local replies = {}
local position = 2
for eventIndex, callKey in ipairs(KEYS) do
  local first = position + 1
  position = first + tonumber(ARGV[position])
  local ok, reply = pcall(ingestCallEvent, callKey, first, position - 1)
  if not ok then
    reply = { ${toLuaLiteral(ingestFailedOutcome)}, type(reply) == 'table' and reply.err or tostring(reply) }
  end
  replies[eventIndex] = reply
end
if busStream ~= nil then calltrack_close(busStream) end
return replies
`,
);

/**
 * The ingest script: the store's apply step with the bus's publish (`busFunctions`, from the
 * bus, with its settings written in), for a batch of one tenant's events. One script, one round
 * trip: each call's state, its indexes and the bus's stream change together.
 */
export function composeRedisIngestScript(busFunctions: string): string {
  return composeLuaScript([
    ...applyTransitionFragments,
    redisCallSnapshotJsonLua,
    defineLuaFragment('redis-bus-publish', busFunctions),
    ingestBatchBodyLua,
  ]);
}

/**
 * The JSON of `event` up to where its snapshot goes: every field but `data`, then `data` open
 * with its fields (without a `call` it carried) and a comma when it has any. The script appends
 * `"call":<snapshot>}}`. The event must be valid (sealed): its JSON is written as it is.
 */
export function redisEventJsonHead(event: CallEvent): string {
  const { data, ...fields } = event;
  let carried: object = data;
  if (data.call !== undefined) {
    const { call: _replaced, ...others } = data;
    carried = others;
  }
  const fieldsJson = JSON.stringify(fields);
  const dataJson = JSON.stringify(carried);
  return `${fieldsJson.slice(0, -1)},"data":${dataJson === '{}' ? '{' : `${dataJson.slice(0, -1)},`}`;
}
