import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll } from 'vitest';
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

describeLeadStore({
  name: 'redis',
  createStore: async () => {
    if (!redis) return undefined;
    counter += 1;
    const prefix = `${filePrefix}:${counter}`;
    return {
      store: createRedisLeadStore({ redis, prefix }),
      dispose: () => deleteKeys(redis, prefix),
    };
  },
});
