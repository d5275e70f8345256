// Presence on a Redis bus whose Redis refuses writes (out of memory, as a full production Redis
// with `noeviction` does): what the logger is told must not carry the refused command's
// arguments, which hold the queued message's body.
import { inspect } from 'node:util';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  connectTestRedis,
  deleteKeys,
  type OwnRedisServer,
  refuseRedisWrites,
  startOwnRedisServer,
  stopOwnRedisServer,
  uniquePrefix,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';

// The store lives on the shared test Redis; the bus on a redis-server of this test's own.
const shared = await connectTestRedis();
const prefix = uniquePrefix('presence-oom');
let own: OwnRedisServer = {};
afterAll(async () => {
  if (shared) await deleteKeys(shared, prefix);
  shared?.disconnect();
  await stopOwnRedisServer(own);
});

describe.skipIf(!shared)('presence while the bus’s Redis refuses writes', () => {
  it('logs a refused delivery without the message body in it', async () => {
    own = await startOwnRedisServer();
    const { server, admin } = own;
    if (!server || !admin || !shared) return;
    const busRedis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    busRedis.on('error', () => {});
    const logged: { message: string; context: Record<string, unknown> | undefined }[] = [];
    let deliveryLogged: () => void = () => {};
    const deliveryFailed = new Promise<void>((resolve) => {
      deliveryLogged = resolve;
    });
    const presence = createPresence({
      bus: createRedisBus({ redis: busRedis, prefix: `${prefix}:bus` }),
      store: createRedisPresenceStore({ redis: shared, prefix }),
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {
        error(message, context) {
          logged.push({ message, context });
          if (message.startsWith('Deliveries fail')) deliveryLogged();
        },
      },
    });
    try {
      const queued = await presence.send('tenant-a', 'u1', { note: 'private-message-body' });
      expect(queued.queued).toBe(true);
      await refuseRedisWrites(admin);
      // Connecting delivers the queued message: its publish is refused, and logged as the
      // deliveries' outage (a sweep delivers it once the claim runs out).
      await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
      await deliveryFailed;
      expect(logged.length).toBeGreaterThan(0);
      for (const { context } of logged) {
        const printed = inspect(context, { depth: Number.POSITIVE_INFINITY, showHidden: true });
        expect(printed).not.toContain('private-message-body');
        // Still says what Redis refused and which command.
        expect(printed).toContain('OOM command not allowed');
        expect(printed).toMatch(/name: '(eval|evalsha|fcall)'/);
      }
    } finally {
      await presence.stop();
      busRedis.disconnect();
    }
  }, 30_000);
});
