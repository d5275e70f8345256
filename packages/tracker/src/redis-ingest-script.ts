import type { CallEvent } from '@calltrack/core';
import { defineRedisScript } from '@calltrack/redis-script';
import type { CallTransition } from './call-transition';
import { defineLuaFragment, type LuaFragment } from './lua-fragment';
import { plannedTransitionGuardFields } from './plan-redis-call-transition';
import {
  composeApplyTransitionScript,
  encodeApplyTransitionSettings,
  registerApplyTransitionLua,
} from './redis-apply-transition-script';
import { redisCallHashPrefixes } from './redis-call-hash';
import { redisCallSnapshotJsonLua } from './redis-call-snapshot-json-lua';
import type { RedisFunction } from './redis-function';
import { toLuaLiteral } from './to-lua-literal';

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
  -- A planned step brings the JSON from Node (decision 0073).
  local callJson = applied.callJson or callSnapshotJson(snapshot, transition)
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
 * The ingest step as Redis functions (decision 0040): the ingest script's code as a library,
 * loaded once per server, so a call runs the step without building its fragments again, with the
 * planned step beside it (decision 0073); the scripts themselves for servers without Functions.
 * Named after the code's SHA-1, so each set of bus settings (and each version of the code) has a
 * library of its own.
 */
export function defineRedisIngestFunction(busFunctions: string): RedisIngestFunctions {
  const script = defineRedisScript(composeRedisIngestScript(busFunctions));
  // The planned script holds all of the library's code: its SHA-1 names the library.
  const plannedScript = defineRedisScript(
    composeRedisIngestScript(
      busFunctions,
      defineLuaFragment(
        'ingest-planned-run',
        `${plannedTransitionLua.source}\nreturn applyPlannedTransitionCall(KEYS, ARGV)`,
      ),
    ),
  );
  const name = `calltrack_ingest_${plannedScript.sha}`;
  const plannedName = `${name}_planned`;
  const registrations = defineLuaFragment(
    'ingest-register',
    `${plannedTransitionLua.source}
${registerApplyTransitionLua(name).source}
redis.register_function('${plannedName}', function(keys, args) return applyPlannedTransitionCall(keys, args) end)`,
  );
  const library = `#!lua name=${name}\n${composeRedisIngestScript(busFunctions, registrations)}`;
  return {
    ingest: { name, library, script },
    planned: { name: plannedName, library, script: plannedScript },
  };
}

/** The ingest step's two functions, of one library. */
export interface RedisIngestFunctions {
  /** The step as the Lua decides it. */
  ingest: RedisFunction;
  /**
   * The step as Node planned it (`planRedisCallTransition`, arguments by
   * {@link encodePlannedTransitionArgs}): it checks that the call is as Node knew it and writes
   * the plan, else writes nothing and answers {@link stalePlanOutcome}.
   */
  planned: RedisFunction;
}

/** The planned step's answer when the call is not as Node knew it: nothing was written. */
export const stalePlanOutcome = 'stale-plan';

/**
 * The planned step's arguments: the tenant's key base, the event's id, the call's id, the
 * tracker time and `occurredAt` as decimal text, the settings' text, the event's JSON head
 * (`redisEventJsonHead`), then the plan (`PlannedRedisCallTransition.args`, its count last).
 */
export function encodePlannedTransitionArgs(
  base: string,
  transition: CallTransition,
  eventHead: string,
  plan: readonly string[],
): string[] {
  return [
    base,
    transition.eventId,
    transition.callId,
    String(transition.at),
    String(transition.occurredAt),
    encodeApplyTransitionSettings(transition.settings),
    eventHead,
    ...plan,
  ];
}

/**
 * The planned step (decision 0073): Node worked the transition out from what it knew of the call
 * (`planRedisCallTransition`, whose argument layout this reads, by offset from the plan's first
 * argument), so the Lua checks that the call is still as Node knew it (the guard fields, and no
 * mark of this event) and writes what the plan says: the hash's writes and expiry, the indexes
 * (`updateCallIndexes`, from the plan's account of the transition), the publish with Node's JSON
 * of the call. A repeat of a published or recorded event is a duplicate, answered as the step
 * answers one. A call that is not as Node knew it (another process wrote it) gets nothing written
 * and the answer {@link stalePlanOutcome}: the step decides it then.
 */
const plannedTransitionLua = defineLuaFragment(
  'planned-transition',
  `
local plannedGuardFields = ${toLuaLiteral([...plannedTransitionGuardFields])}
local plannedDurationField = callField[${toLuaLiteral(`${redisCallHashPrefixes.detail}durationMs`)}]
local stalePlanOutcome = ${toLuaLiteral(stalePlanOutcome)}

local function applyPlannedTransitionCall(keys, args)
  local first = 8
  local callKey = keys[1]
  local held = redis.call('HMGET', callKey, plannedGuardFields[1], plannedGuardFields[2],
    plannedGuardFields[3], plannedGuardFields[4], eventMarkField(args[2]))
  local mark = held[5]
  if mark == eventMarkDone or mark == eventMarkIgnored then
    -- A repeat of an event that was published or recorded: a duplicate, as the step answers it,
    -- with the call as it is.
    return { 'duplicate', noActiveCount, 0,
      redis.call('HMGET', callKey, unpack(callStateFields, 1, callMarkIndex - 1)) }
  end
  -- A publish lease (a two-step path's event): the step decides whether it ran out.
  if mark then return { stalePlanOutcome } end
  for index = 1, 4 do
    if (held[index] or '') ~= args[first + index - 1] then return { stalePlanOutcome } end
  end

  local transition = {
    eventId = args[2],
    callId = args[3],
    at = args[4],
    atMs = tonumber(args[4]),
    occurredAtMs = tonumber(args[5]),
    settings = readSettings(args[6]),
    publishedInScript = true,
  }
  local writeCount = tonumber(args[first + 16])
  redis.call('HSET', callKey, unpack(args, first + 17, first + 16 + writeCount))
  local expiry = args[first + 14]
  if expiry == 'x' then
    redis.call('PEXPIRE', callKey, transition.settings.endedCallRetentionMs)
  elseif expiry == 'p' then
    redis.call('PERSIST', callKey)
  end
  local flags = args[first + 5]
  local snapshot = {}
  snapshot[plannedDurationField] = optionalArg(args[first + 13])
  local applied = {
    outcome = args[first + 4],
    wasActive = string.sub(flags, 1, 1) == '1',
    isActive = string.sub(flags, 2, 2) == '1',
    startedChanged = string.sub(flags, 3, 3) == '1',
    previousBranchId = optionalArg(args[first + 6]),
    learnedBranchId = optionalArg(args[first + 7]),
    startedAt = optionalArg(args[first + 8]),
    answeredAt = optionalArg(args[first + 9]),
    status = optionalArg(args[first + 10]),
    identity = { branchId = optionalArg(args[first + 11]), agentId = optionalArg(args[first + 12]) },
    snapshot = snapshot,
    callJson = args[first + 15],
  }
  local base = args[1]
  local activeCount, activated, foldDue = updateCallIndexes(base, callKey, transition, applied,
    declaredKeySet(keys))
  local seamReply = afterCallTransition(base, callKey, transition, applied, snapshot, { args[7] }, keys)
  local replyFlags = (activated and 1 or 0) + (foldDue and 2 or 0)
  return { applied.outcome, activeCount or noActiveCount, replyFlags, {}, seamReply, 1 }
end
`,
);

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
