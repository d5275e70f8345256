// Subscriptions made while the Redis bus's server is down: its own redis-server, killed with
// SIGKILL and restarted on the same port (the shared test Redis is never stopped). Through the
// real tRPC client.
import { spawnSync } from 'node:child_process';
import { createRedisBus } from '@calltrack/bus/redis';
import { makeCallEvent, type RedisServerProcess, startRedisServer } from '@calltrack/test-utils';
import type { TRPCClientError } from '@trpc/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestClient, startTestServer, t } from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}
let server: RedisServerProcess | undefined;

describe.skipIf(!installed)('createCallTrackRouter while Redis is down (kill -9)', () => {
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    ['a resumed', true],
    ['a fresh', false],
  ] as const)(
    'answers %s onCallEvent SERVICE_UNAVAILABLE within attachTimeoutMs, and the link’s retry streams once Redis is back',
    async (_, resumed) => {
      const redisServer = server as RedisServerProcess;
      const redis = new Redis(redisServer.url, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
      });
      redis.on('error', () => {});
      await new Promise((resolve) => redis.once('ready', resolve));
      const bus = createRedisBus({ redis, prefix: 'trpc-outage', onError: () => {} });
      const router = t.router({
        calltrack: createCallTrackRouter({
          t,
          bus,
          authenticate: (ctx) => ctx.principal,
          attachTimeoutMs: 300,
        }),
      });
      const http = await startTestServer(router);
      // A cursor the client holds from before the outage.
      const { cursor } = await bus.publish(
        makeCallEvent({ tenantId: 'tenant-a', callId: 'CA-1', type: 'call.initiated' }),
      );
      const data: CallStreamMessage[] = [];
      const errors: TRPCClientError<typeof router>[] = [];
      let onChange: () => void = () => {};
      const until = (check: () => boolean): Promise<void> =>
        new Promise((resolve) => {
          onChange = () => {
            if (check()) resolve();
          };
          onChange();
        });
      try {
        await redisServer.kill();
        const started = performance.now();
        const subscription = createTestClient<typeof router>(
          http.url,
          'token-a',
        ).calltrack.onCallEvent.subscribe(resumed ? { lastEventId: cursor } : undefined, {
          onData: ({ data: message }) => {
            data.push(message);
            onChange();
          },
          onConnectionStateChange: (state) => {
            if (state.error) errors.push(state.error as TRPCClientError<typeof router>);
            onChange();
          },
        });
        try {
          // Not a wait until Redis is back: a 503 the link retries.
          await until(() => errors.length > 0);
          expect(performance.now() - started).toBeLessThan(2_000);
          expect(errors[0]?.data?.code).toBe('SERVICE_UNAVAILABLE');
          if (resumed) {
            expect(errors[0]?.message).toMatch(
              /could not be attached to the event bus within 300 ms/,
            );
          }

          // Back (empty: a stream of another epoch): the link's retry resumes and is told to
          // reload, or starts afresh.
          await redisServer.restart();
          await until(() => data.length >= (resumed ? 2 : 1));
          expect(data.slice(0, resumed ? 2 : 1)).toEqual(
            resumed
              ? [{ type: 'resumed' }, { type: 'reset', reason: 'stream-reset' }]
              : [{ type: 'ready' }],
          );
        } finally {
          subscription.unsubscribe();
        }
      } finally {
        await http.close();
        await bus.close();
        redis.disconnect();
      }
    },
    30_000,
  );
});
