import { createMemoryBus } from '@calltrack/bus';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeDispatcher } from './__tests__/describe-dispatcher';
import { storedEndpoint } from './__tests__/stored-endpoint';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
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
        cleanup: async () => {
          await store.close();
          await deleteKeys(client, prefix);
          await deleteKeys(client, `{${prefix}}`);
        },
      };
    },
  },
);

describe('the Redis store, tenants set', () => {
  const endpointOf = (id: string) => storedEndpoint(id, 1);

  // The lease sweep visits only the tenants in the set: one missing there never has the leases
  // of its dead processes' direct first attempts queued.
  it('keeps a tenant whose last endpoint is deleted while another process creates one', async () => {
    const client = redis!;
    const prefix = uniquePrefix('webhook-tenants');
    const deleting = client.duplicate();
    const creator = createRedisWebhookStore({ redis: client, prefix });
    const deleter = createRedisWebhookStore({ redis: deleting, prefix });
    try {
      await deleter.createEndpoint(endpointOf('ep_old'), 10);
      // The other process creates its endpoint after this one saw no endpoint left and before
      // it takes the tenant out of the set.
      const srem = deleting.srem.bind(deleting) as (...args: unknown[]) => Promise<number>;
      let raced = false;
      Object.assign(deleting, {
        srem: async (...args: unknown[]) => {
          if (!raced) {
            raced = true;
            await creator.createEndpoint(endpointOf('ep_new'), 10);
          }
          return srem(...args);
        },
      });
      await deleter.deleteEndpoint('acme', 'ep_old');
      expect(raced).toBe(true);
      expect((await creator.listEndpoints('acme')).map((endpoint) => endpoint.id)).toEqual([
        'ep_new',
      ]);
      expect(await creator.listTenants()).toEqual(['acme']);
    } finally {
      await deleter.close();
      await creator.close();
      deleting.disconnect();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    }
  });
});

describe('the Redis store, deleting an endpoint', () => {
  it('leaves no key or lease of its own: deliveries (more than a scan batch), slots, log', async () => {
    const client = redis!;
    const prefix = uniquePrefix('webhook-delete');
    const store = createRedisWebhookStore({ redis: client, prefix });
    try {
      for (const id of ['ep_gone', 'ep_kept']) {
        await store.createEndpoint(storedEndpoint(id, 1), 10);
      }
      for (let index = 0; index < 1500; index += 1) {
        const message = {
          id: `msg_${index}`,
          tenantId: 'acme',
          eventId: `event-${index}`,
          eventType: 'call.ended',
          body: '{}',
          createdAt: 1,
        };
        // A few leased for a first attempt sent directly, as the dispatcher does.
        await store.createDeliveries(
          message,
          ['ep_gone', 'ep_kept'],
          86_400_000,
          index < 3 ? { count: 2, ms: 60_000 } : undefined,
        );
      }
      expect(await store.acquireSlot('acme', 'ep_gone', 'job_1', 10, 60_000)).toBe(0);
      await store.deleteEndpoint('acme', 'ep_gone');
      const left: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        left.push(...keys);
      } while (cursor !== '0');
      expect(left.filter((key) => key.includes('ep_gone'))).toEqual([]);
      expect(left.filter((key) => key.includes(':dlv:ep_kept:'))).toHaveLength(1500);
      expect(await client.zrange(`${prefix}:{acme}:leases`, 0, -1)).toEqual([
        'ep_kept:msg_0',
        'ep_kept:msg_1',
        'ep_kept:msg_2',
      ]);
    } finally {
      await store.close();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    }
  });

  it('leaves no key or lease of a delivery made after the delete once it is attempted', async () => {
    const client = redis!;
    const prefix = uniquePrefix('webhook-delete-late');
    const store = createRedisWebhookStore({ redis: client, prefix });
    try {
      for (const id of ['ep_gone', 'ep_kept']) {
        await store.createEndpoint(storedEndpoint(id, 1), 10);
      }
      await store.deleteEndpoint('acme', 'ep_gone');
      // A fan-out from an endpoint list read before the delete, with direct first attempts.
      const message = {
        id: 'msg_late',
        tenantId: 'acme',
        eventId: 'event-late',
        eventType: 'call.ended',
        body: '{}',
        createdAt: 1,
      };
      await store.createDeliveries(message, ['ep_gone', 'ep_kept'], 86_400_000, {
        count: 2,
        ms: 60_000,
      });
      const job = {
        id: 'ep_gone_msg_late',
        tenantId: 'acme',
        endpointId: 'ep_gone',
        messageId: 'msg_late',
        trigger: 'event' as const,
      };
      await store.beginAttempt(job, { now: 2, leaseMs: 60_000 });
      const left = await client.keys(`${prefix}*`);
      expect(left.filter((key) => key.includes('ep_gone'))).toEqual([]);
      expect(await client.zrange(`${prefix}:{acme}:leases`, 0, -1)).toEqual(['ep_kept:msg_late']);
    } finally {
      await store.close();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    }
  });
});

describe('the Redis store, endpoint text', () => {
  // The store's scripts decode an endpoint's settings with cjson, which refuses the `\ud800`
  // JSON.stringify writes for half a surrogate pair: an endpoint saved with one answered every
  // update and rotation with a script error, and every attempt of its deliveries failed in the
  // store, never sent.
  it('refuses a lone surrogate in a description or URL; a whole pair saves, changes and rotates', async () => {
    const client = redis!;
    const prefix = uniquePrefix('webhook-text');
    const store = createRedisWebhookStore({ redis: client, prefix });
    const dispatcher = createWebhookDispatcher({ bus: createMemoryBus(), store });
    const url = 'https://crm.example.com/hooks';
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => 'saved',
        (error: unknown) => `${(error as { status?: number }).status} ${(error as Error).message}`,
      );
    try {
      const lone = '400 description: must not contain a lone surrogate (half of a UTF-16 pair).';
      expect(
        await refusal(dispatcher.createEndpoint('acme', { url, description: 'CRM \ud83d' })),
      ).toBe(lone);
      expect(await refusal(dispatcher.createEndpoint('acme', { url: `${url}/\udc00` }))).toBe(
        '400 url: must not contain a lone surrogate (half of a UTF-16 pair).',
      );
      expect(await dispatcher.listEndpoints('acme')).toEqual([]);

      const { endpoint } = await dispatcher.createEndpoint('acme', {
        url: `${url}/\u{1f4de}`,
        description: 'CRM \u{1f4de}',
      });
      expect(
        await refusal(dispatcher.updateEndpoint('acme', endpoint.id, { description: '\ud800' })),
      ).toBe(lone);
      const updated = await dispatcher.updateEndpoint('acme', endpoint.id, {
        description: 'Sales \u{1f4de}',
      });
      expect(updated.description).toBe('Sales \u{1f4de}');
      const rotated = await dispatcher.rotateSecret('acme', endpoint.id);
      expect(rotated.endpoint.description).toBe('Sales \u{1f4de}');
    } finally {
      await dispatcher.close();
      await store.close();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    }
  });
});

describe('the Redis store, options', () => {
  // The lease sweep runs every stalledIntervalMs: an interval Node cannot keep (0, NaN, past
  // 2^31 - 1 ms) ran it every millisecond, a scan of every tenant each time.
  it('refuses a lock duration or stalled interval that a timer cannot keep', () => {
    const client = redis!;
    for (const value of [0, -1, Number.NaN, 1.5, 2 ** 31]) {
      expect(() =>
        createRedisWebhookStore({ redis: client, stalledIntervalMs: value }),
      ).toThrowError(
        'createRedisWebhookStore: stalledIntervalMs must be an integer from 1 to 2147483647.',
      );
      expect(() => createRedisWebhookStore({ redis: client, lockDurationMs: value })).toThrowError(
        'createRedisWebhookStore: lockDurationMs must be an integer from 1 to 2147483647.',
      );
    }
    expect(() =>
      createRedisWebhookStore({ redis: client, stalledIntervalMs: 1, lockDurationMs: 2 ** 31 - 1 }),
    ).not.toThrow();
  });
});

describe('the Redis store, dead letters and their messages', () => {
  // A message expires retentionMs after it was created, but its delivery's expiry restarted at
  // each attempt: for the last day or so of its life a dead letter was still listed, and
  // `recover` counted it ({ queued }) with nothing left to send.
  it('expires a delivery with its message, and lists and recovers only dead letters that have one', async () => {
    const client = redis!;
    const prefix = uniquePrefix('webhook-expiry');
    const clock = createTestClock(Date.UTC(2026, 2, 1));
    const store = createRedisWebhookStore({ redis: client, prefix });
    const dispatcher = createWebhookDispatcher({ bus: createMemoryBus(), store, clock });
    const retentionMs = 14 * 86_400_000;
    const tenantKey = `${prefix}:{acme}:`;
    try {
      const { endpoint } = await dispatcher.createEndpoint('acme', {
        url: 'https://crm.example.com/hooks',
      });
      const at = clock.now();
      const ids = ['msg_x0', 'msg_x1', 'msg_x2', 'msg_x3'];
      for (const [index, id] of ids.entries()) {
        await store.createDeliveries(
          { id, tenantId: 'acme', eventId: id, eventType: 'call.ended', body: '{}', createdAt: at },
          [endpoint.id],
          retentionMs,
        );
        // The message's life has nearly run: its last retry gives up a minute before it ends.
        await client.pexpire(`${tenantKey}msg:${id}`, 60_000);
        await store.recordAttempt({
          attempt: {
            id: `att_x${index}`,
            tenantId: 'acme',
            endpointId: endpoint.id,
            messageId: id,
            eventType: 'call.ended',
            url: endpoint.url,
            attempt: 8,
            trigger: 'event',
            status: 'failed',
            statusCode: 500,
            durationMs: 1,
            responseBody: '',
            error: 'HTTP 500',
            startedAt: at + index,
          },
          delivery: {
            status: 'failed',
            attempts: 8,
            lastStatusCode: 500,
            lastError: 'HTTP 500',
            updatedAt: at + index,
          },
          retentionMs,
          maxAttemptsPerEndpoint: 100,
          now: at + index,
        });
      }
      // The attempt gave the dead letter no life of its own: it ends with its message.
      const life = await client.pttl(`${tenantKey}dlv:${endpoint.id}:msg_x1`);
      expect(life).toBeGreaterThan(0);
      expect(life).toBeLessThanOrEqual(60_000);
      // Two messages expire (as their expiry does, at its time).
      await client.del(`${tenantKey}msg:msg_x1`, `${tenantKey}msg:msg_x2`);
      const page = await dispatcher.listFailedDeliveries('acme', { limit: 2 });
      // A full page all the same: the expired ones are read past, not a short page (the end).
      expect(page.deliveries.map((delivery) => delivery.messageId)).toEqual(['msg_x3', 'msg_x0']);
      expect(page.nextCursor).not.toBeNull();
      expect(
        (await dispatcher.listFailedDeliveries('acme', { endpointId: endpoint.id })).deliveries,
      ).toHaveLength(2);
      clock.advance(1000);
      expect(await dispatcher.recover('acme', endpoint.id, { since: at - 1000 })).toEqual({
        queued: 2,
      });
    } finally {
      await dispatcher.close();
      await store.close();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    }
  });
});
