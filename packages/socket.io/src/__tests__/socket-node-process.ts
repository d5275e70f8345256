// One Socket.IO node of the multi-node tests: a server with calltrack on a Redis bus.
// argv: <redis url> <prefix> [<presence store prefix> <presence timings JSON>]: with the last two,
// the node has presence on a Redis store (heartbeats on Engine.IO pongs every
// `heartbeatIntervalMs`, sweeper running). It prints `listening <url>`, then obeys stdin:
// `publish <event json>` → `published <id> <cursor>`; `exit` ends it cleanly.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { startChildPresence } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { attachCallTrack } from '../attach-call-track';
import { verifyTestToken } from './start-socket-server';

const [url, prefix, presencePrefix, timingsJson] = process.argv.slice(2) as [
  string,
  string,
  string?,
  string?,
];
const redis = new Redis(url);
const bus = createRedisBus({ redis, prefix });
const childPresence = startChildPresence(bus, redis, presencePrefix, timingsJson);
const presence = childPresence?.presence;
const pingInterval = childPresence?.heartbeatIntervalMs;
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  ...(pingInterval === undefined ? {} : { pingInterval, pingTimeout: 5_000 }),
});
const calltrack = attachCallTrack(io, {
  bus,
  authenticate: (handshake) => verifyTestToken(handshake.auth.token),
  ...(presence ? { presence } : {}),
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
process.stdout.write(`listening http://127.0.0.1:${(http.address() as AddressInfo).port}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith('publish ')) {
    const event = JSON.parse(line.slice('publish '.length));
    const { cursor } = await bus.publish(event);
    process.stdout.write(`published ${event.id} ${cursor}\n`);
  } else if (line === 'exit') {
    break;
  }
}
await calltrack.close();
io.close();
await presence?.stop();
await bus.close();
redis.disconnect();
process.exit(0);
