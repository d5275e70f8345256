// The Redis webhook store on a client that has ended (its `retryStrategy` gave up, or the app
// called quit()): a bug or a shutdown, answered 500 `redis_client_closed` as the tracker's call
// store answers it, not a 503 outage that callers would retry for ever. On a redis-server of this
// file's own.
import { CallTrackError, toErrorResponse } from '@calltrack/core';
import { endableRedisClients } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';

const clients = endableRedisClients();

describe('the Redis webhook store on a client that has ended', () => {
  it('answers reads and writes 500 redis_client_closed, not 503', async () => {
    const redis = clients.connect();
    if (!redis) return;
    const store = createRedisWebhookStore({ redis, prefix: 'closed:webhooks' });
    await store.listEndpoints('acme');
    await clients.end(redis);

    for (const failed of [
      await store.listEndpoints('acme').catch((error: unknown) => error),
      await store.saveCursors({ acme: '1-0' }).catch((error: unknown) => error),
    ]) {
      expect(CallTrackError.isInstance(failed), String(failed)).toBe(true);
      expect(failed).toMatchObject({ code: 'redis_client_closed', status: 500 });
      const answer = toErrorResponse(failed);
      expect(answer.status).toBe(500);
      expect(answer.headers.get('retry-after')).toBeNull();
    }
  });
});
