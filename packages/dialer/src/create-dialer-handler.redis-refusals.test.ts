import { inspect } from 'node:util';
import { RedisUnavailableError } from '@calltrack/core';
import {
  type RedisServerProcess,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveDialerApi } from './__tests__/serve-dialer-api';
import { demoTenant, startDialerApp } from './__tests__/start-dialer-app';
import { createMemoryDialerLocks } from './create-memory-dialer-locks';
import { createRedisDialerLocks } from './create-redis-dialer-locks';
import { createRedisDoNotCallList } from './create-redis-do-not-call-list';
import { createRedisLeadStore } from './create-redis-lead-store';

const phoneDigits = '4155550123';

/** Everything a logger could print of a value: hidden fields, causes, `command`. */
const everything = (value: unknown): string =>
  inspect(value, { depth: 20, showHidden: true, maxStringLength: Number.POSITIVE_INFINITY });

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await admin?.config('SET', 'maxmemory', '0');
  await admin?.flushall();
});

const refuseWrites = async (): Promise<void> => {
  await admin!.config('SET', 'maxmemory-policy', 'noeviction');
  await admin!.config('SET', 'maxmemory', '1');
};

/** The dialer on the Redis lead store, its API on loopback, what it reports. */
async function startApp(locks: 'redis' | 'memory') {
  const redis = new Redis(server!.url, { maxRetriesPerRequest: 1 });
  closers.push(() => redis.disconnect());
  const logged: unknown[] = [];
  const log = (message: string, context?: unknown) => logged.push({ message, context });
  const store = createRedisLeadStore({ redis, prefix: 'refusals:dialer' });
  const app = await startDialerApp({
    providerApi: { outcome: 'busy' },
    dialer: {
      store,
      locks:
        locks === 'redis'
          ? createRedisDialerLocks({ redis, prefix: 'refusals:dialer:lock' })
          : createMemoryDialerLocks(),
      logger: { error: log, warn: log },
    },
  });
  closers.push(() => app.close());
  const served = await serveDialerApi(app, store, closers);
  /** Every request of this file is a POST. */
  const api = (path: string, body?: unknown) => served.api(path, body, 'POST');
  const { reported } = served;
  return { app, store, redis, api, reported, logged };
}

const expectUnavailable = async (response: Response, operation: string) => {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  expect(((await response.json()) as { error: unknown }).error).toEqual({
    code: 'redis_unavailable',
    message: expect.stringMatching(
      new RegExp(`^Redis cannot take commands right now \\(OOM .+\\) while ${operation}\\.`),
    ),
  });
};

describe('the dialer on Redis while Redis refuses writes', () => {
  it('answers adding leads and triggering a run 503, reported without the phone numbers', async () => {
    if (!server) return;
    const { api, reported, ...app } = await startApp('redis');
    await refuseWrites();

    await expectUnavailable(
      await api('/dialer/leads', {
        leads: [{ leadId: 'twilio-1', phoneNumber: `+1${phoneDigits}` }],
      }),
      'adding leads',
    );
    await expectUnavailable(await api('/dialer/runs'), 'taking a lease');
    expect(reported).toHaveLength(2);
    for (const error of reported) expect(RedisUnavailableError.isInstance(error)).toBe(true);
    expect(everything(reported)).not.toContain(phoneDigits);

    // The do-not-call list, which the app feeds itself: refused alike, without the numbers.
    const list = createRedisDoNotCallList({ redis: app.redis, prefix: 'refusals:dialer' });
    const refused = await list
      .add(demoTenant, [`+1${phoneDigits}`])
      .catch((error: unknown) => error);
    expect(RedisUnavailableError.isInstance(refused)).toBe(true);
    expect(everything(refused)).not.toContain(phoneDigits);

    await admin!.config('SET', 'maxmemory', '0');
    const added = await api('/dialer/leads', {
      leads: [{ leadId: 'twilio-1', phoneNumber: `+1${phoneDigits}` }],
    });
    expect(added.status).toBe(201);
  });

  it('stops a run on a refused claim, dialling nothing, logged without the phone number', async () => {
    if (!server) return;
    const { app, store, logged } = await startApp('memory');
    await store.addLeads([
      {
        tenantId: demoTenant,
        userId: 'user-1',
        leadId: 'twilio-1',
        phoneNumber: `+1${phoneDigits}`,
        timeZone: 'America/New_York',
      },
    ]);
    await refuseWrites();

    // The run's own lease is in memory here: the run starts, and its claim is refused.
    const started = await app.dialer.trigger({ tenantId: demoTenant, userId: 'user-1' });
    if (started.outcome !== 'started') throw new Error('no run started');
    const [summary] = await started.finished;
    expect(summary).toMatchObject({ stoppedBy: 'error' });
    expect(app.providerApi.countCalls()).toBe(0);
    const stopped = logged.filter(
      (entry) =>
        (entry as { message: string }).message ===
        'A run stopped on an error; claimed leads are safe.',
    );
    expect(stopped.length).toBeGreaterThan(0);
    for (const entry of stopped) {
      const { error } = (entry as { context: { error: unknown } }).context;
      expect(RedisUnavailableError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /while claiming leads\. Try again later; what was written before the refusal, if anything, stays\.$/,
      );
    }
    expect(everything(logged)).not.toContain(phoneDigits);
  });
});
