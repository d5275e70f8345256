// Creating an endpoint is several Redis writes (the tenant's entry in the tenants set, the
// endpoint and its index in one script, the tenant's entry again, the tenant's starting cursor).
// When Redis refuses one after the endpoint was written (out of memory under `noeviction`, as a
// full production Redis), the caller gets a 503 and retries: the retry must not leave a second
// endpoint, nor the first one, live with a secret nobody was given. On a redis-server of this
// file's own; Redis fills up between two steps (another client's write, played by the test).
import { createMemoryBus } from '@calltrack/bus';
import { RedisUnavailableError } from '@calltrack/core';
import {
  type OwnRedisServer,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { WebhookStore } from './webhook-store';

let own: OwnRedisServer = {};
beforeAll(async () => {
  own = await startOwnRedisServer();
});
afterEach(async () => {
  await own.admin?.config('SET', 'maxmemory', '0');
  await own.admin?.flushall();
});
afterAll(() => stopOwnRedisServer(own));

const prefix = 'part-way:webhooks';

/** Redis is full from now on: `noeviction` and a `maxmemory` below what it holds. */
const fillUp = async (admin: Redis): Promise<void> => {
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
  await admin.config('SET', 'maxmemory', '1');
};

/**
 * `redis` with Redis filling up right before its `nth` `SADD`: the store's commands go to the
 * real server; only the moment is chosen.
 */
const fillingUpBeforeSadd = (redis: Redis, admin: Redis, nth: number): Redis => {
  let sadds = 0;
  return new Proxy(redis, {
    get(target, property) {
      if (property === 'sadd') {
        return async (...args: Parameters<Redis['sadd']>) => {
          sadds += 1;
          if (sadds === nth) await fillUp(admin);
          return target.sadd(...args);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
};

async function start(store: WebhookStore) {
  const dispatcher = createWebhookDispatcher({
    bus: createMemoryBus(),
    store,
    allowHttp: true,
    allowedCidrs: ['127.0.0.0/8'],
  });
  return dispatcher;
}

describe('creating an endpoint refused part-way', () => {
  it('leaves no endpoint when the tenant’s index entry after it is refused; the retry makes one', async () => {
    const { server, admin } = own;
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    // The second SADD is the store's own after the endpoint's script.
    const store = createRedisWebhookStore({
      redis: fillingUpBeforeSadd(redis, admin, 2),
      prefix,
    });
    const dispatcher = await start(store);
    try {
      const refused = await dispatcher
        .createEndpoint('acme', { url: 'http://127.0.0.1:9/hooks' })
        .catch((error: unknown) => error);
      expect(RedisUnavailableError.isInstance(refused), String(refused)).toBe(true);
      expect(await dispatcher.listEndpoints('acme')).toEqual([]);
      expect(await admin.sismember(`${prefix}:tenants`, 'acme')).toBe(0);

      await admin.config('SET', 'maxmemory', '0');
      await dispatcher.createEndpoint('acme', { url: 'http://127.0.0.1:9/hooks' });
      expect(await dispatcher.listEndpoints('acme')).toHaveLength(1);
      expect(await admin.sismember(`${prefix}:tenants`, 'acme')).toBe(1);
    } finally {
      await dispatcher.close();
      redis.disconnect();
    }
  });

  it('leaves no endpoint when its starting cursor is refused; the retry makes one', async () => {
    const { server, admin } = own;
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const redisStore = createRedisWebhookStore({ redis, prefix });
    let full = false;
    const store: WebhookStore = {
      ...redisStore,
      async saveCursors(cursors) {
        if (!full) {
          full = true;
          await fillUp(admin);
        }
        return redisStore.saveCursors(cursors);
      },
    };
    const dispatcher = await start(store);
    try {
      const refused = await dispatcher
        .createEndpoint('acme', { url: 'http://127.0.0.1:9/hooks' })
        .catch((error: unknown) => error);
      expect(RedisUnavailableError.isInstance(refused), String(refused)).toBe(true);
      expect(await dispatcher.listEndpoints('acme')).toEqual([]);
      expect(await admin.sismember(`${prefix}:tenants`, 'acme')).toBe(0);

      await admin.config('SET', 'maxmemory', '0');
      await dispatcher.createEndpoint('acme', { url: 'http://127.0.0.1:9/hooks' });
      expect(await dispatcher.listEndpoints('acme')).toHaveLength(1);
      expect(await admin.hexists(`${prefix}:cursors`, 'acme')).toBe(1);
    } finally {
      await dispatcher.close();
      redis.disconnect();
    }
  });
});
