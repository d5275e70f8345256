// `POST /calls` on the Redis idempotency store while Redis refuses writes (out of memory under
// `noeviction`, as a full production Redis): a 503 the caller retries, not a 500, and nothing
// written (the claim's record, the recorded answer) on what is logged or thrown. On a
// redis-server of this file's own (CONFIG SET never touches the shared test Redis).
import { inspect } from 'node:util';
import { RedisUnavailableError } from '@calltrack/core';
import {
  type RedisServerProcess,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallControlApp } from './__tests__/start-call-control-app';
import { createRedisIdempotencyStore } from './create-redis-idempotency-store';

const customer = '+14155550123';

/** Everything a logger could print of a value: hidden fields, causes, `command`. */
const everything = (value: unknown): string =>
  inspect(value, { depth: 20, showHidden: true, maxStringLength: Number.POSITIVE_INFINITY });

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

describe('the Redis idempotency store while Redis refuses writes', () => {
  it('answers POST /calls 503 with Retry-After, places nothing, and places the retry once', async () => {
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const app = await startCallControlApp({ providerApi: { outcome: 'busy' } });
    const logged: unknown[][] = [];
    const log = (...args: unknown[]) => logged.push(args);
    try {
      const store = createRedisIdempotencyStore({ redis, prefix: 'refusals:tracker' });
      const base = await app.addApi({
        idempotency: { store },
        logger: { error: log, warn: log },
      });
      const body = { provider: 'twilio', to: customer, requestId: 'refused-request' };
      // Claimed before Redis fills up: its answer is recorded while Redis refuses writes.
      const claimed = await store.claim('demo', 'other-request', {
        fingerprint: 'f',
        now: Date.now(),
        ttlMs: 60_000,
      });
      if (claimed.state !== 'claimed') throw new Error('not claimed');

      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const refused = await app.api('/api/calls', { base, body });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
      expect(refused.body.error).toEqual({
        code: 'redis_unavailable',
        message: expect.stringMatching(
          /^Redis cannot take commands right now \(OOM .+\) while claiming a request id\. Try again later; what was written before the refusal, if anything, stays\.$/,
        ),
      });
      expect(app.providerApi.countCalls()).toBe(0);
      // Logged as the one-line outage; the claim's record (its token) is on nothing logged.
      expect(logged).toEqual([
        [
          'The tracker read API could not reach Redis.',
          { path: '/api/calls', message: expect.stringMatching(/OOM/) },
        ],
      ]);
      expect(everything(logged)).not.toContain('"s":"p"');

      // What the store throws carries no value it wrote: an answer naming the customer.
      const thrown = await store
        .complete(
          'demo',
          'other-request',
          claimed.token,
          { status: 202, body: { call: { to: customer } } },
          60_000,
        )
        .catch((error: unknown) => error);
      expect(RedisUnavailableError.isInstance(thrown)).toBe(true);
      expect(everything(thrown)).not.toContain(customer.slice(2));
      expect(everything(thrown)).toContain('argumentCount');

      await admin.config('SET', 'maxmemory', '0');
      const retried = await app.api('/api/calls', { base, body });
      expect(retried.status).toBe(202);
      expect(app.providerApi.countCalls()).toBe(1);
    } finally {
      await app.close();
      redis.disconnect();
      await admin.config('SET', 'maxmemory', '0');
    }
  }, 30_000);
});
