import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { describeDispatcher } from './__tests__/describe-dispatcher';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { describeWebhookStore } from './describe-webhook-store';

let redis: Redis | undefined;

beforeAll(async () => {
  redis = await connectTestRedis();
});

afterAll(async () => {
  redis?.disconnect();
});

describeDispatcher('the Redis store', async () => {
  if (!redis) return undefined;
  const client = redis;
  const prefix = uniquePrefix('webhooks');
  const store = createRedisWebhookStore({ redis: client, prefix });
  return {
    store,
    dispose: async () => {
      await store.close();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    },
  };
});

describeWebhookStore(
  { describe, it, afterEach },
  {
    name: 'Redis',
    createStore: async () => {
      if (!redis) return undefined;
      const client = redis;
      const prefix = uniquePrefix('webhook-store');
      const store = createRedisWebhookStore({ redis: client, prefix });
      return {
        store,
        dispose: async () => {
          await store.close();
          await deleteKeys(client, prefix);
          await deleteKeys(client, `{${prefix}}`);
        },
      };
    },
  },
);
