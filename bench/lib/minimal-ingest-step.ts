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
-- One event: args[first ..] = rank, snapshot, callId, occurredAt (ms), branchId, event JSON head,
-- event id. Returns its seq, or 0 when the call did not move forward.
local function ingestOne(stream, callKey, base, args, first)
  local rank = tonumber(args[first])
  local callId = args[first + 2]
  local old = redis.call('GET', callKey)
  local oldRank = old and tonumber(string.sub(old, 1, 1)) or 0
  if rank <= oldRank then return 0 end
  local snapshot = args[first + 1]
  if rank == 9 then
    redis.call('SET', callKey, rank .. snapshot, 'PX', 86400000)
  else
    redis.call('SET', callKey, rank .. snapshot)
  end
  if oldRank == 0 and rank < 9 then
    redis.call('ZADD', base .. 'active', args[first + 3], callId)
    redis.call('HINCRBY', base .. 'branches', args[first + 4], 1)
  elseif rank == 9 then
    if oldRank > 0 then
      redis.call('ZREM', base .. 'active', callId)
      redis.call('HINCRBY', base .. 'branches', args[first + 4], -1)
    end
    redis.call('ZADD', base .. 'ended', args[first + 3], callId)
  end
  return (calltrack_publish(stream, args[first + 5] .. '"call":' .. snapshot .. '}}', args[first + 6]))
end

-- KEYS: the call's key, then the bus's keys. ARGV: base, then the event's seven arguments.
redis.register_function('${name}', function(keys, args)
  local stream = calltrack_open(keys, 2)
  local seq = ingestOne(stream, keys[1], args[1], args, 2)
  calltrack_close(stream)
  return seq
end)

-- A batch of one tenant's events: KEYS the bus's keys (n of them), then each event's call key;
-- ARGV n, base, then seven arguments per event. The stream is opened and closed once.
redis.register_function('${name}_batch', function(keys, args)
  local busKeyCount = tonumber(args[1])
  local stream = calltrack_open(keys, 1)
  local seqs = {}
  for index = busKeyCount + 1, #keys do
    seqs[#seqs + 1] = ingestOne(stream, keys[index], args[2], args, 3 + (index - busKeyCount - 1) * 7)
  end
  calltrack_close(stream)
  return seqs
end)`;

/** The seven arguments of one event (layout on `ingestOne` above). */
function eventArguments(event: CallEvent): (string | number)[] {
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
  return [
    statusRank[event.status ?? ''] ?? 5,
    snapshot,
    event.callId ?? '',
    Date.parse(event.occurredAt),
    event.branchId ?? '',
    head,
    event.id,
  ];
}

/**
 * Loads the minimal step for a Redis bus's publish functions (`RedisBusIngest.publishFunctions`)
 * and answers an `ingest(event)` that runs it, keys under `prefix`: one FCALL per event, or with
 * `batched`, one FCALL per batch of a tenant's events (those that arrive while the tenant's
 * previous call runs, at most 64: the bus's own batching, decision 50's design).
 */
export async function loadMinimalIngestStep(
  redis: Redis,
  busFunctions: string,
  busKeysOf: (tenantId: string) => readonly string[],
  prefix: string,
  batched = false,
): Promise<(event: CallEvent) => Promise<unknown>> {
  const name = 'calltrack_bench_minimal_ingest';
  await redis.call('FUNCTION', 'LOAD', 'REPLACE', library(name, busFunctions));
  const baseOf = (tenantId: string) => `${prefix}:{${tenantId}}:`;
  if (!batched) {
    return (event) => {
      const base = baseOf(event.tenantId);
      const busKeys = busKeysOf(event.tenantId);
      return redis.fcall(
        name,
        1 + busKeys.length,
        `${base}call:${event.callId}`,
        ...busKeys,
        base,
        ...eventArguments(event),
      );
    };
  }
  // The bus's batching (its createKeyBatcher is internal to @calltrack/bus), kept to what the
  // bench needs: one call per tenant in flight, the events that wait go in the next, at most 64.
  interface Waiting {
    event: CallEvent;
    resolve: (seq: unknown) => void;
    reject: (error: unknown) => void;
  }
  const queues = new Map<string, { running: boolean; waiting: Waiting[] }>();
  const runNext = (tenantId: string): void => {
    const queue = queues.get(tenantId)!;
    if (queue.waiting.length === 0) {
      queues.delete(tenantId);
      return;
    }
    const batch = queue.waiting.splice(0, 64);
    queue.running = true;
    const base = baseOf(tenantId);
    const busKeys = busKeysOf(tenantId);
    const keys = [...busKeys, ...batch.map(({ event }) => `${base}call:${event.callId}`)];
    const args: (string | number)[] = [busKeys.length, base];
    for (const { event } of batch) args.push(...eventArguments(event));
    (redis.fcall(`${name}_batch`, keys.length, ...keys, ...args) as Promise<unknown[]>).then(
      (seqs) => {
        for (const [index, waiting] of batch.entries()) waiting.resolve(seqs[index]);
        queue.running = false;
        runNext(tenantId);
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
        queue.running = false;
        runNext(tenantId);
      },
    );
  };
  return (event) =>
    new Promise((resolve, reject) => {
      let queue = queues.get(event.tenantId);
      if (!queue) {
        queue = { running: false, waiting: [] };
        queues.set(event.tenantId, queue);
      }
      queue.waiting.push({ event, resolve, reject });
      if (!queue.running) runNext(event.tenantId);
    });
}
