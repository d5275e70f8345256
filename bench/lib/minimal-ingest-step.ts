// A bound, not the store: the leanest one-step ingest we can think of that still keeps a call
// and the bus together in one FCALL. The call is one string (its snapshot JSON, built by Node
// from the event, behind a one-digit status rank): GET, move forward only, SET (with the ended
// call's retention as its expiry). Indexes only where a call starts or ends: the active set and
// the per-branch count, and the ended set. No event marks, details, stale index or analytics:
// the bus's own window de-duplicates. Then the Redis bus's publish functions, as the real step
// composes them. What this reaches against a bare publish is what a store redesigned around a
// compact call and indexes kept off the per-event path could reach at most (decision 0069).
import type { CallEvent } from '@calltrack/core';
import type { Redis } from 'ioredis';

const statusRank: Record<string, number> = {
  queued: 1,
  initiated: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 9,
  busy: 9,
  'no-answer': 9,
  failed: 9,
  canceled: 9,
};

const library = (name: string, busFunctions: string) => `#!lua name=${name}
${busFunctions}
redis.register_function('${name}', function(keys, args)
  local callKey, base, callId = keys[1], args[1], args[4]
  local rank = tonumber(args[2])
  local old = redis.call('GET', callKey)
  local oldRank = old and tonumber(string.sub(old, 1, 1)) or 0
  if rank <= oldRank then return 0 end
  local snapshot = args[3]
  if rank == 9 then
    redis.call('SET', callKey, rank .. snapshot, 'PX', 86400000)
  else
    redis.call('SET', callKey, rank .. snapshot)
  end
  if oldRank == 0 and rank < 9 then
    redis.call('ZADD', base .. 'active', args[5], callId)
    redis.call('HINCRBY', base .. 'branches', args[6], 1)
  elseif rank == 9 then
    if oldRank > 0 then
      redis.call('ZREM', base .. 'active', callId)
      redis.call('HINCRBY', base .. 'branches', args[6], -1)
    end
    redis.call('ZADD', base .. 'ended', args[5], callId)
  end
  local stream = calltrack_open(keys, 2)
  local seq = calltrack_publish(stream, args[7] .. '"call":' .. snapshot .. '}}', args[8])
  calltrack_close(stream)
  return seq
end)`;

/**
 * Loads the minimal step for a Redis bus's publish functions (`RedisBusIngest.publishFunctions`)
 * and answers an `ingest(event)` that runs it, one FCALL per event, keys under `prefix`.
 */
export async function loadMinimalIngestStep(
  redis: Redis,
  busFunctions: string,
  busKeysOf: (tenantId: string) => readonly string[],
  prefix: string,
): Promise<(event: CallEvent) => Promise<unknown>> {
  const name = 'calltrack_bench_minimal_ingest';
  await redis.call('FUNCTION', 'LOAD', 'REPLACE', library(name, busFunctions));
  return (event) => {
    const base = `${prefix}:{${event.tenantId}}:`;
    const { data, ...fields } = event;
    const dataJson = JSON.stringify(data);
    const head = `${JSON.stringify(fields).slice(0, -1)},"data":${dataJson === '{}' ? '{' : `${dataJson.slice(0, -1)},`}`;
    const snapshot = JSON.stringify({
      tenantId: event.tenantId,
      callId: event.callId,
      provider: event.provider,
      direction: event.direction,
      from: event.from,
      to: event.to,
      branchId: event.branchId,
      agentId: event.agentId,
      status: event.status,
      startedAt: event.occurredAt,
      updatedAt: event.receivedAt,
    });
    const busKeys = busKeysOf(event.tenantId);
    return redis.fcall(
      name,
      1 + busKeys.length,
      `${base}call:${event.callId}`,
      ...busKeys,
      base,
      statusRank[event.status ?? ''] ?? 5,
      snapshot,
      event.callId ?? '',
      Date.parse(event.occurredAt),
      event.branchId ?? '',
      head,
      event.id,
    );
  };
}
