import type { CallEvent } from '@calltrack/core';
import { defineRedisScript } from '@calltrack/redis-script';
import { defineLuaFragment, type LuaFragment } from './lua-fragment';
import {
  composeApplyTransitionScript,
  registerApplyTransitionLua,
} from './redis-apply-transition-script';
import { redisCallSnapshotJsonLua } from './redis-call-snapshot-json-lua';
import type { RedisFunction } from './redis-function';

/**
 * How an ingest script's error starts when the event was applied but the bus's part failed: the
 * bus's own word for a publish it could not complete. A retry of the event publishes it.
 */
export const busPublishFailedPrefix = 'CALLTRACK_UNAVAILABLE';

/**
 * The seam fragment of the ingest script: publishes an applied event to the Redis bus in the
 * apply script's own step (decision 0030). `keys[2 ..]` start with the tenant's bus keys
 * (`RedisBusIngest.keys`: hash tag `{tenant}`, so the tenant's slot on Redis Cluster, and
 * declared, so that Redis runs the step only on a node that has all of them while the slot
 * moves; the tracker's indexes follow them), `argv[1]` the event's JSON up to where
 * `data.call` goes ({@link redisEventJsonHead}); the snapshot's JSON is written here
 * (`redis-call-snapshot-json`) from the call as the apply step left it. The bus's functions do
 * the rest as in its own publish script: de-duplication by event id, the next sequence number,
 * the bounded stream, the live message.
 *
 * Returns nothing for an event that is not published (a duplicate, an ignored or skipped
 * event), else `{ epoch, seq, duplicate (0|1), register (0|1), snapshot JSON }`, and the reply's
 * own snapshot is left out: the store reads the call from the JSON.
 *
 * When the bus's part fails (a Cluster slot being migrated, a key of the wrong type), the call's
 * writes stay (Redis does not roll a script back): the event's mark becomes an expired publish
 * lease, so a retry finds it `unpublished` and publishes it, and a `call.ended` goes to the
 * outbox as the two-step path leaves it, for maintenance to publish without a retry. Then the
 * script fails with {@link busPublishFailedPrefix} (the store answers `BusUnavailableError`).
 */
export const publishAppliedEventLua = defineLuaFragment(
  'after-call-transition',
  `
local publishedOutcomes = { changed = true, ended = true, enriched = true, unpublished = true }

-- The bus's part failed after the call was written: the mark '0' is a lease that ran out, and
-- an end is kept for the outbox (its JSON as the two-step path keeps it, without data.call).
local function leaveAppliedEventUnpublished(base, callKey, transition, head)
  redis.call('HSET', callKey, eventMarkField(transition.eventId), '0')
  if redis.call('HGET', callKey, 'endEventId') == transition.eventId then
    local endEvent = string.sub(head, -1) == ',' and string.sub(head, 1, -2) .. '}}' or head .. '}}'
    redis.call('HSET', callKey, 'endEvent', endEvent)
    redis.call('ZADD', base .. 'outbox', transition.at, transition.callId)
  end
end

local function afterCallTransition(base, callKey, transition, applied, snapshot, argv, keys)
  if not publishedOutcomes[applied.outcome] then return nil end
  local callJson = callSnapshotJson(snapshot, transition)
  local ok, reply = pcall(function()
    local stream = calltrack_open(keys, 2)
    local seq, duplicate, register = calltrack_publish(stream, argv[1] .. '"call":' .. callJson .. '}}',
      transition.eventId)
    calltrack_close(stream)
    return { stream.epoch, seq, duplicate, register, callJson }
  end)
  if ok then return reply, true end
  leaveAppliedEventUnpublished(base, callKey, transition, argv[1])
  -- Caught as a string or as a table (by Redis version); the bus's own refusal keeps its words.
  local message = type(reply) == 'table' and tostring(reply.err) or tostring(reply)
  if string.sub(message, 1, ${busPublishFailedPrefix.length}) ~= '${busPublishFailedPrefix}' then
    message = '${busPublishFailedPrefix} publish failed (' .. message .. ')'
  end
  error({ err = message })
end
`,
);

/**
 * The ingest script: the store's apply script with the bus's publish (`busFunctions`, from the
 * bus, with its settings written in) composed into its seam. One script, one round trip: the
 * call's state, its indexes and the bus's stream change together or not at all.
 */
export function composeRedisIngestScript(busFunctions: string, run?: LuaFragment): string {
  return composeApplyTransitionScript(
    publishAppliedEventLua,
    [redisCallSnapshotJsonLua, defineLuaFragment('redis-bus-publish', busFunctions)],
    run,
  );
}

/**
 * The ingest step as a Redis function (decision 0040): the ingest script's code as a library,
 * loaded once per server, so a call runs the step without building its fragments again; the
 * script itself for servers without Functions. Named after the script's SHA-1, so each set of bus
 * settings (and each version of the code) has a library of its own.
 */
export function defineRedisIngestFunction(busFunctions: string): RedisFunction {
  const script = defineRedisScript(composeRedisIngestScript(busFunctions));
  const name = `calltrack_ingest_${script.sha}`;
  const library = `#!lua name=${name}\n${composeRedisIngestScript(busFunctions, registerApplyTransitionLua(name))}`;
  return { name, library, script };
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
