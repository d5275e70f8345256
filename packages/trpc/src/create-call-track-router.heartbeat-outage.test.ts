// Presence heartbeats on the procedures' own timer while presence's Redis refuses writes (out of
// memory under `noeviction`): every subscriber's heartbeat is refused at each beat, and an outage
// must reach `onError` as one incident, not once per subscriber per beat, and its end is said
// once. On a redis-server of this file's own, through the real tRPC client.
import type { Principal } from '@calltrack/core';
import {
  type RedisServerProcess,
  startHeartbeatOutage,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import type { CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectSubscription } from './__tests__/collect-subscription';
import {
  createTestClient,
  startTestServer,
  type TestContext,
  t,
} from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

/** `Bearer <tenant>:<user>`. */
function context({ req }: CreateHTTPContextOptions): TestContext {
  const match = /^Bearer ([^:\s]+):(\S+)$/.exec(req.headers.authorization ?? '');
  if (!match) return {};
  const principal: Principal = { tenantId: match[1] as string, userId: match[2] as string };
  return { principal };
}

describe('createCallTrackRouter({ presence }) while Redis refuses writes', () => {
  it('reports refused heartbeats once, and once more when they work again', async () => {
    if (!server || !admin) return;
    const { bus, presence, outcomes, next, refuseWrites, acceptWrites, stop } =
      startHeartbeatOutage(server, admin, 'trpc-heartbeat-outage:presence');
    const reported: Error[] = [];
    const router = t.router({
      calltrack: createCallTrackRouter({
        t,
        bus,
        authenticate: (ctx) => ctx.principal,
        presence,
        presenceHeartbeatMs: 10,
        onError: (error) => reported.push(error),
      }),
    });
    const http = await startTestServer(router, { createContext: context });
    const subscriptions = ['tenant-a:u1', 'tenant-b:u2'].map((token) => {
      const collector = collectSubscription<{ id: string; data: CallStreamMessage }>();
      const subscription = createTestClient<typeof router>(
        http.url,
        token,
      ).calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
      return { collector, subscription };
    });
    try {
      for (const { collector } of subscriptions)
        await collector.until(() => collector.data.length > 0);
      await next(() => outcomes.worked >= 2);
      expect(reported).toEqual([]);

      await refuseWrites();
      await next(() => outcomes.failed >= 10);
      expect(reported.map((error) => error.message)).toEqual([
        expect.stringMatching(/^Redis cannot take commands right now \(OOM /),
      ]);

      await acceptWrites();
      // Once both subscribers heartbeat again, the incident is over.
      while (reported.length < 2) await next(() => true);
      expect(reported.slice(1).map((error) => error.message)).toEqual([
        expect.stringMatching(
          /^Presence heartbeats of the tRPC subscribers work again after \d+\.\d s and \d+ failed heartbeats \(only the first was reported\)\.$/,
        ),
      ]);
    } finally {
      // Writes first: the transport's presence registrations leave as it closes.
      await acceptWrites();
      for (const { subscription } of subscriptions) subscription.unsubscribe();
      await http.close();
      await stop();
    }
  }, 30_000);
});
