import { randomUUID } from 'node:crypto';
import { type CallEvent, type EventSink, RedisUnavailableError } from '@calltrack/core';
import { isRedisRefusingCommands } from '@calltrack/core/internal';
import { type RedisBusIngest, redisBusIngestOf } from '@calltrack/redis-script';
import type { CallApplyResult, CallStore } from './call-store';
import type { CallTransition } from './call-transition';
import {
  type RedisCallStoreIngest,
  type RedisIngestPublished,
  redisCallStoreIngestOf,
} from './redis-call-store-ingest';
import { redisEventJsonHead } from './redis-ingest-script';

/**
 * Applies a transition and publishes its event in one Redis script, or answers `undefined` when
 * that is not possible (the tracker then applies, publishes and confirms as before).
 */
export type RedisIngest = (
  transition: CallTransition,
  event: CallEvent,
) => Promise<(CallApplyResult & { published?: RedisIngestPublished }) | undefined>;

/**
 * The one-round-trip ingest (decision 0030), when the store is the Redis store and the bus a
 * Redis bus on the same deployment: the same client, or clients that see the same data (one
 * server and database, or one Cluster). That is asked once, with a key the store writes and the
 * bus's client reads; a server that answers the bus's read with an error (a standalone client on
 * one node of a Cluster) counts as another deployment, a failure to reach it is thrown and asked
 * again at the next ingest. Returns undefined for any other store or bus.
 */
export function createRedisIngest(store: CallStore, bus: EventSink): RedisIngest | undefined {
  const storeIngest = redisCallStoreIngestOf(store);
  const busIngest = redisBusIngestOf(bus);
  if (storeIngest === undefined || busIngest === undefined) return undefined;

  let shared: Promise<boolean> | undefined;
  const sameDeployment = (): Promise<boolean> => {
    shared ??= seeSameData(storeIngest, busIngest);
    shared.catch(() => {
      shared = undefined;
    });
    return shared;
  };

  return async (transition, event) => {
    if (!(await sameDeployment())) return undefined;
    const result = await storeIngest.applyAndPublish(transition, {
      functions: await busIngest.publishFunctions(),
      busKeys: busIngest.keys(transition.tenantId),
      eventHead: redisEventJsonHead(event),
    });
    // The events are published; the registration (sharded pub/sub) reports its own failures.
    if (result.published?.register) await busIngest.registerTenant(transition.tenantId);
    return result;
  };
}

async function seeSameData(store: RedisCallStoreIngest, bus: RedisBusIngest): Promise<boolean> {
  if (store.redis === bus.redis) return true;
  const key = store.probeKey();
  const token = randomUUID();
  await store.redis.set(key, token, 'PX', 60_000).catch((error: unknown) => {
    // Asked again at the next ingest; meanwhile a Redis that cannot take writes is a 503.
    throw isRedisRefusingCommands(error)
      ? new RedisUnavailableError({
          message: `Redis cannot take commands right now (${(error as Error).message.split('\n')[0]}). The event was not applied; try again later.`,
          cause: error,
        })
      : error;
  });
  try {
    return (await bus.redis.get(key)) === token;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'ReplyError') return false;
    throw error;
  } finally {
    await store.redis.del(key).catch(() => {});
  }
}
