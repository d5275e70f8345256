// One tRPC node in its own process, for the kill -9 tests: calltrack's router on a Redis bus,
// standalone adapter behind withNodeSseRetry. argv: <redis url> <prefix> [<presence store prefix>
// <presence timings JSON>]: with the last two, the router has presence on a Redis store
// (heartbeats every `heartbeatIntervalMs` on the router's shared timer, sweeper running).
// Prints `listening <url>`; `exit` on stdin ends it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { startChildPresence } from '@calltrack/test-utils';
import { initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { Redis } from 'ioredis';
import { createCallTrackRouter } from '../create-call-track-router';
import { withNodeSseRetry } from '../with-node-sse-retry';

const [redisUrl, prefix, presencePrefix, timingsJson] = process.argv.slice(2) as [
  string,
  string,
  string?,
  string?,
];
const redis = new Redis(redisUrl);
const bus = createRedisBus({ redis, prefix });
const childPresence = startChildPresence(bus, redis, presencePrefix, timingsJson);
const presence = childPresence?.presence;
const presenceHeartbeatMs = childPresence?.heartbeatIntervalMs;
const t = initTRPC.context<{ tenantId?: string; userId?: string }>().create();
const router = t.router({
  calltrack: createCallTrackRouter({
    t,
    bus,
    authenticate: ({ tenantId, userId }) =>
      tenantId === undefined ? null : userId === undefined ? { tenantId } : { tenantId, userId },
    ...(presence ? { presence, presenceHeartbeatMs } : {}),
  }),
});
const server = createServer(
  withNodeSseRetry(
    createHTTPHandler({
      router,
      // `Authorization: Bearer tenant:<id>[:<user>]`, as in the in-process tests.
      createContext: ({ req }) => {
        const match = /^Bearer tenant:([^:\s]+)(?::(\S+))?$/.exec(req.headers.authorization ?? '');
        if (!match) return {};
        return match[2] === undefined
          ? { tenantId: match[1]! }
          : { tenantId: match[1]!, userId: match[2] };
      },
    }),
  ),
);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'exit') break;
}
server.closeAllConnections();
server.close();
await presence?.stop();
await bus.close();
redis.disconnect();
process.exit(0);
