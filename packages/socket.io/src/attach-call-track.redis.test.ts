import { createRedisBus } from '@calltrack/bus/redis';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestTracker } from './__tests__/create-test-tracker';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import {
  connected,
  disconnectAndWait,
  startSocketServer,
  type TestSocketServer,
} from './__tests__/start-socket-server';
import type { ActiveCallsPayload, CallTrackDelivery } from './call-track-protocol';

const redis = await connectTestRedis();
const prefix = uniquePrefix('socket-io-redis');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);

describe.skipIf(!redis)('attachCallTrack on the Redis bus', () => {
  it('gives every connection resuming mid-flow a gapless, duplicate-free sequence', async () => {
    const bus = createRedisBus({ redis: redis as Redis, prefix });
    const server = await startSocketServer(bus);
    try {
      const watcher = server.client({ token: 'token:r:w' });
      const watcherLog = createEventLog(watcher);
      await connected(watcher);
      await watcher.timeout(20_000).emitWithAck('subscribe_to_calls');
      const base = await bus.publish(makeEvent('r', { id: 'base' }));
      for (let index = 0; index < 20; index += 1)
        await bus.publish(makeEvent('r', { id: `h${index}` }));

      const resumers = Array.from({ length: 10 }, (_, index) =>
        server.client({ token: `token:r:u${index}`, lastCursor: base.cursor }),
      );
      const logs = resumers.map(createEventLog);
      const publishing = (async () => {
        for (let index = 0; index < 60; index += 1) {
          await bus.publish(makeEvent('r', { id: `f${index}` }));
        }
      })();
      await Promise.all(resumers.map(connected));
      await publishing;
      const expected = ids(await watcherLog.waitFor('call_update', 81)).slice(1);
      expect(expected).toHaveLength(80);
      for (const log of logs) expect(ids(await log.waitFor('call_update', 80))).toEqual(expected);
      await bus.publish(makeEvent('r', { id: 'tail' }));
      for (const log of logs) {
        expect(ids(await log.waitFor('call_update', 81))).toEqual([...expected, 'tail']);
      }
    } finally {
      await server.close();
      await bus.close();
    }
  }, 30_000);

  it('a snapshot before any event names a bus cursor: resumed on this or another server', async () => {
    const key = `${prefix}:position`;
    const busOne = createRedisBus({ redis: redis as Redis, prefix: key });
    const busTwo = createRedisBus({ redis: redis as Redis, prefix: key });
    const servers: TestSocketServer[] = [];
    try {
      const one = await startSocketServer(busOne, { tracker: createTestTracker(busOne).reader });
      servers.push(one);
      const two = await startSocketServer(busTwo, { tracker: createTestTracker(busTwo).reader });
      servers.push(two);
      const earlier = await busTwo.publish(makeEvent('p', { id: 'earlier' }));

      // Two clients take their snapshot on server one, receive no event, and leave.
      const snapshots: string[] = [];
      for (const user of ['stays', 'moves']) {
        const socket = one.client({ token: `token:p:${user}` });
        const log = createEventLog(socket);
        await connected(socket);
        await socket.timeout(20_000).emitWithAck('subscribe_to_calls');
        const payload = (await log.waitFor('active_calls'))[0]?.payload as ActiveCallsPayload;
        snapshots.push(payload.cursor as string);
        await disconnectAndWait(one.io, socket);
      }
      expect(snapshots).toEqual([earlier.cursor, earlier.cursor]);

      const missed: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        missed.push(`missed-${index}`);
        await busOne.publish(makeEvent('p', { id: `missed-${index}` }));
        await busOne.publish(makeEvent('q', { id: `other-tenant-${index}` }));
      }
      const back = [
        one.client({ token: 'token:p:stays', lastCursor: earlier.cursor }),
        two.client({ token: 'token:p:moves', lastCursor: earlier.cursor }),
      ];
      const logs = back.map(createEventLog);
      await Promise.all(back.map(connected));
      for (const log of logs) expect(ids(await log.waitFor('call_update', 5))).toEqual(missed);
      await busTwo.publish(makeEvent('p', { id: 'live' }));
      for (const log of logs) {
        expect(ids(await log.waitFor('call_update', 6))).toEqual([...missed, 'live']);
        expect(log.named('reset')).toEqual([]);
        expect(log.named('active_calls')).toEqual([]);
      }
    } finally {
      for (const server of servers) await server.close();
      await busOne.close();
      await busTwo.close();
    }
  }, 30_000);
});
