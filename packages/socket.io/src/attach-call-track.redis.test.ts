import { createRedisBus } from '@calltrack/bus/redis';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import { connected, startSocketServer } from './__tests__/start-socket-server';
import type { CallTrackDelivery } from './call-track-protocol';

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
});
