import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import { createRedisCallStore } from '@calltrack/tracker/redis';
import { Redis } from 'ioredis';

/** The process-wide calltrack objects every route handler shares. */
export interface CallTrackServer {
  bus: EventBus;
  tracker: CallTracker;
  /** Which backend is in use (shown on the page). */
  backend: 'memory' | 'redis';
}

// Next.js bundles every route separately, and `next dev` re-evaluates modules on every edit:
// a module-level `const bus = createMemoryBus()` would give the webhook route and the tRPC route
// two different buses (and leak a new one per hot reload). One object on `globalThis`, under a
// registry symbol, is shared by all of them.
const serverKey = Symbol.for('calltrack.example-nextjs.server');

type GlobalWithServer = typeof globalThis & { [serverKey]?: CallTrackServer };

/**
 * The bus and the tracker, created on first use (never while `next build`
 * collects the routes). In memory by default; `REDIS_URL` switches both to Redis
 * (`CALLTRACK_REDIS_PREFIX`, default `calltrack`, prefixes every key), so several `next start`
 * processes behind a load balancer share one state.
 */
export function getCallTrackServer(): CallTrackServer {
  const global = globalThis as GlobalWithServer;
  global[serverKey] ??= createCallTrackServer(process.env);
  return global[serverKey];
}

function createCallTrackServer(env: NodeJS.ProcessEnv): CallTrackServer {
  const redisUrl = env.REDIS_URL;
  if (redisUrl) {
    const prefix = env.CALLTRACK_REDIS_PREFIX || 'calltrack';
    // The app opens this connection and keeps it for the life of the process. The bus
    // duplicates it once to subscribe; neither the bus nor the store ever closes it.
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    const bus = createRedisBus({ redis, prefix: `${prefix}:bus` });
    const tracker = createCallTracker({
      bus,
      store: createRedisCallStore({ redis, prefix: `${prefix}:tracker` }),
    });
    return start({ bus, tracker, backend: 'redis' });
  }
  const bus = createMemoryBus();
  const tracker = createCallTracker({ bus });
  return start({ bus, tracker, backend: 'memory' });
}

function start(server: CallTrackServer): CallTrackServer {
  // The reaper (closes calls whose webhooks stopped), the call.ended outbox and alerts; the
  // timer is unref()ed, so it never keeps the process alive.
  server.tracker.start();
  return server;
}
