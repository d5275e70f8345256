// Child process for the cross-process tests: one "server" with presence on a shared Redis (store
// and bus), its heartbeats and sweeper running on the real clock. Reads commands on stdin, one
// per line, and answers on stdout:
//   connect <tenant> <user> <connectionId>   → "connected <connectionId>"
//   disconnect <connectionId>                → "disconnected <connectionId>"
//   send <tenant> <user> <text>              → "sent <sequence> <queued>"
// It prints "ready" once it runs. The test ends it with kill -9 or by closing stdin.
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { Redis } from 'ioredis';
import { createPresence } from '../create-presence';
import { createRedisPresenceStore } from '../create-redis-presence-store';
import type { PresenceConnection } from '../presence';

const [url, storePrefix, busPrefix, timingsJson] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
// `slowMessagesMs` (fault injection): every user.message publish waits that long first, so a
// test can kill this process in the middle of a delivery.
const { slowMessagesMs = 0, ...timings } = JSON.parse(timingsJson) as Record<string, number>;
const redis = new Redis(url);
const bus = createRedisBus({ redis, prefix: busPrefix });
const presence = createPresence({
  bus: {
    async publish(event) {
      if (event.type === 'user.message' && slowMessagesMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, slowMessagesMs));
      }
      return bus.publish(event);
    },
  },
  store: createRedisPresenceStore({ redis, prefix: storePrefix }),
  ...timings,
  logger: {
    error: (message, context) => process.stderr.write(`${message} ${JSON.stringify(context)}\n`),
  },
});
presence.start();
const connections = new Map<string, PresenceConnection>();

process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [command, ...args] = line.split(' ');
  if (command === 'connect') {
    const [tenantId, userId, connectionId] = args as [string, string, string];
    connections.set(connectionId, await presence.connect({ tenantId, userId, connectionId }));
    process.stdout.write(`connected ${connectionId}\n`);
  } else if (command === 'disconnect') {
    const [connectionId] = args as [string];
    await connections.get(connectionId)?.disconnect();
    connections.delete(connectionId);
    process.stdout.write(`disconnected ${connectionId}\n`);
  } else if (command === 'send') {
    const [tenantId, userId, text] = args as [string, string, string];
    const result = await presence.send(tenantId, userId, text);
    process.stdout.write(`sent ${result.sequence} ${result.queued}\n`);
  }
}
await presence.stop();
await bus.close();
redis.disconnect();
