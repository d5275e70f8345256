import { createRedisBus } from '@calltrack/bus/redis';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import { connected, startSocketServer } from './__tests__/start-socket-server';
import type { CallTrackDelivery } from './call-track-protocol';

const redis = await connectTestRedis();
const prefix = uniquePrefix('socket-io-replay-close');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)(
  'a resumed replay closed while its history pages are read (Redis bus)',
  () => {
    it('sends nothing of it after unsubscribe_from_calls is answered', async () => {
      // Pages of 20 events: the replay of 400 is read page by page, so the unsubscribe lands
      // while a page read is in flight.
      const bus = createRedisBus({ redis: redis as Redis, prefix, replayBatchSize: 20 });
      const server = await startSocketServer(bus);
      try {
        const first = await bus.publish(makeEvent('r', { id: 'first' }));
        for (let index = 0; index < 400; index += 1) {
          await bus.publish(makeEvent('r', { id: `missed-${index}` }));
        }
        const socket = server.client({ token: 'token:r:u1' });
        const log = createEventLog(socket);
        await connected(socket);
        const resumed = socket.timeout(20_000).emitWithAck('subscribe_to_calls', {
          after: first.cursor,
        });
        await log.waitFor('call_update');
        expect(await socket.timeout(20_000).emitWithAck('unsubscribe_from_calls')).toEqual({
          ok: true,
        });
        const sentBeforeUnsubscribe = log.named('call_update').length;
        expect(sentBeforeUnsubscribe).toBeLessThan(400);
        expect(await resumed).toEqual({ ok: true });
        // The page read in flight was sent to Redis before this publish on the same connection,
        // so its answer has been handled by the time a stream that starts now gets the probe.
        expect(await socket.timeout(20_000).emitWithAck('subscribe_to_calls')).toEqual({
          ok: true,
        });
        const probe = makeEvent('r', { id: 'probe' });
        await bus.publish(probe);
        const updates = await log.waitFor('call_update', sentBeforeUnsubscribe + 1);
        const after = updates
          .slice(sentBeforeUnsubscribe)
          .map((entry) => (entry.payload as CallTrackDelivery).event.id);
        expect(after).toEqual(['probe']);
      } finally {
        await server.close();
        await bus.close();
      }
    });
  },
);
