// One Socket.IO node of the multi-node test: a server with calltrack on a Redis bus. It prints
// `listening <url>`, then obeys stdin: `publish <event json>` → `published <id> <cursor>`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { attachCallTrack } from '../attach-call-track';
import { verifyTestToken } from './start-socket-server';

const [url, prefix] = process.argv.slice(2) as [string, string];
const redis = new Redis(url);
const bus = createRedisBus({ redis, prefix });
const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
const calltrack = attachCallTrack(io, {
  bus,
  authenticate: (handshake) => verifyTestToken(handshake.auth.token),
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
await bus.close();
redis.disconnect();
process.exit(0);
