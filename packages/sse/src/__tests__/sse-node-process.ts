// One SSE node in its own process, for the kill -9 tests: createSseNodeHandler on a Redis bus.
// argv: <redis url> <prefix> [<presence store prefix> <presence timings JSON>]: with the last two,
// the handler has presence on a Redis store (heartbeats on its keepalive, sweeper running).
// Prints `listening <url>`; `exit` on stdin ends it cleanly.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { startChildPresence } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { createSseNodeHandler } from '../create-sse-node-handler';

const [redisUrl, prefix, presencePrefix, timingsJson] = process.argv.slice(2) as [
  string,
  string,
  string?,
  string?,
];

/** `Authorization: Bearer <tenant>:<user>`, as in the in-process tests. */
const bearer = (request: Request) => {
  const match = /^Bearer ([^:\s]+):(\S+)$/.exec(request.headers.get('authorization') ?? '');
  return match ? { tenantId: match[1]!, userId: match[2]! } : null;
};
const redis = new Redis(redisUrl);
const bus = createRedisBus({ redis, prefix });
const childPresence = startChildPresence(bus, redis, presencePrefix, timingsJson);
const presence = childPresence?.presence;
const keepAliveMs = childPresence?.heartbeatIntervalMs;
const server = createServer(
  createSseNodeHandler({
    bus,
    authenticate: bearer,
    retryMs: 10,
    ...(presence ? { presence } : {}),
    ...(keepAliveMs === undefined ? {} : { keepAliveMs }),
  }),
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
