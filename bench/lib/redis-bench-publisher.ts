// Child process of bus-redis.bench.ts: waits for "go" on stdin, then publishes `count` events
// with at most `window` in flight, either as raw PUBLISH or through the Redis bus.
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { Redis } from 'ioredis';
import { benchEvent } from './bench-event';

const [mode, url, prefix, count, window, runId] = process.argv.slice(2) as [
  'raw' | 'bus',
  string,
  string,
  string,
  string,
  string,
];
const redis = new Redis(url);
const bus = createRedisBus({ redis, prefix, history: { maxEvents: 1000 } });
const total = Number(count);
const events = Array.from({ length: total }, (_, index) =>
  benchEvent(index, 'bench-tenant', runId),
);
const channel = `${prefix}:raw`;

async function publishAll(): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const event = events[next++]!;
      if (mode === 'raw') await redis.publish(channel, JSON.stringify(event));
      else await bus.publish(event);
    }
  };
  await Promise.all(Array.from({ length: Number(window) }, worker));
}

await redis.ping();
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'go') break;
}
await publishAll();
process.stdout.write('sent\n');
await bus.close();
redis.disconnect();
