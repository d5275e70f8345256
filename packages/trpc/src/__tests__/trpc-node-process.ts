// One tRPC node in its own process, for the kill -9 tests: calltrack's router on a Redis bus,
// standalone adapter behind withNodeSseRetry. argv: <redis url> <prefix>. Prints
// `listening <url>`; `exit` on stdin ends it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { Redis } from 'ioredis';
import { createCallTrackRouter } from '../create-call-track-router';
import { withNodeSseRetry } from '../with-node-sse-retry';

const [redisUrl, prefix] = process.argv.slice(2) as [string, string];
const redis = new Redis(redisUrl);
const bus = createRedisBus({ redis, prefix });
const t = initTRPC.context<{ tenantId?: string }>().create();
const router = t.router({
  calltrack: createCallTrackRouter({
    t,
    bus,
    getPrincipal: (ctx) => (ctx.tenantId ? { tenantId: ctx.tenantId } : null),
  }),
});
const server = createServer(
  withNodeSseRetry(
    createHTTPHandler({
      router,
      // `Authorization: Bearer tenant:<id>`, as in the in-process tests.
      createContext: ({ req }) => {
        const match = /^Bearer tenant:(\S+)$/.exec(req.headers.authorization ?? '');
        return match ? { tenantId: match[1] } : {};
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
await bus.close();
redis.disconnect();
process.exit(0);
