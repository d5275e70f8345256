import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, afterEach, describe, it } from 'vitest';
import { createRedisLeadStore } from './create-redis-lead-store';
import { describeLeadStore } from './describe-lead-store';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('dialer-store');
let counter = 0;

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, filePrefix);
  redis.disconnect();
});

describeLeadStore(
  { describe: describe.skipIf(!redis), it, afterEach },
  {
    name: 'redis',
    createStore: async () => {
      counter += 1;
      const prefix = `${filePrefix}:${counter}`;
      return {
        store: createRedisLeadStore({ redis: redis!, prefix }),
        dispose: () => deleteKeys(redis!, prefix),
      };
    },
  },
);
