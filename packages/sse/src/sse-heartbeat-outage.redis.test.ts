// Presence heartbeats on the keepalive ticker while presence's Redis refuses writes (out of
// memory under `noeviction`): every stream's heartbeat is refused at each tick, and an outage must
// reach `onError` as one incident, not once per stream per tick, and its end is said once. On a
// redis-server of this file's own.
import { createServer } from 'node:http';
import { toNodeHandler } from '@calltrack/core/node';
import {
  type RedisServerProcess,
  serveForTest,
  startHeartbeatOutage,
  startOwnRedisServer,
  stopOwnRedisServer,
  stopTestServers,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, openRaw } from './__tests__/describe-sse-handler';
import { createSseHandler } from './create-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

describe.each([
  ['createSseNodeHandler', createSseNodeHandler],
  [
    'createSseHandler',
    (options: Parameters<typeof createSseHandler>[0]) => toNodeHandler(createSseHandler(options)),
  ],
] as const)('%s({ presence }) while Redis refuses writes', (name, makeListener) => {
  it('reports refused heartbeats once, and once more when they work again', async () => {
    if (!server || !admin) return;
    const { bus, presence, outcomes, next, refuseWrites, acceptWrites, stop } =
      startHeartbeatOutage(server, admin, `sse-heartbeat-outage-${name}:presence`);
    const reported: Error[] = [];
    const http = await serveForTest(
      createServer(
        makeListener({
          bus,
          presence,
          authenticate: bearer,
          keepAliveMs: 10,
          onError: (error) => reported.push(error),
        }),
      ),
    );
    const streams = [
      await openRaw(`${http.url}/events`, 'tenant-a:u1'),
      await openRaw(`${http.url}/events`, 'tenant-b:u2'),
    ];
    try {
      await next(() => outcomes.worked >= 2);
      expect(reported).toEqual([]);

      await refuseWrites();
      await next(() => outcomes.failed >= 10);
      expect(reported.map((error) => error.message)).toEqual([
        expect.stringMatching(/^Redis cannot take commands right now \(OOM /),
      ]);

      await acceptWrites();
      // Once both streams heartbeat again, the incident is over.
      while (reported.length < 2) await next(() => true);
      expect(reported.slice(1).map((error) => error.message)).toEqual([
        expect.stringMatching(
          /^Presence heartbeats of the SSE streams work again after \d+\.\d s and \d+ failed heartbeats \(only the first was reported\)\.$/,
        ),
      ]);
    } finally {
      // Writes first: the transport's presence registrations leave as it closes.
      await acceptWrites();
      for (const stream of streams) await stream.close();
      await stopTestServers();
      await stop();
    }
  }, 30_000);
});
