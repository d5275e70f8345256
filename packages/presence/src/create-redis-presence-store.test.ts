import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, afterEach, describe, it } from 'vitest';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { describePresenceStore } from './testing';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('presence-store');

describe.skipIf(!redis)('createRedisPresenceStore', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, filePrefix);
    redis.disconnect();
  });

  let counter = 0;
  describePresenceStore({ describe, it, afterEach }, 'redis', async () => {
    counter += 1;
    const prefix = `${filePrefix}:${counter}`;
    return {
      store: createRedisPresenceStore({ redis: redis!, prefix }),
      cleanup: () => deleteKeys(redis!, prefix),
    };
  });
});
