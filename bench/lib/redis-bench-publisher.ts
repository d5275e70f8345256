// Child process of bus-redis.bench.ts: waits for "go" on stdin, then publishes `count` events
// with at most `window` in flight, as raw PUBLISH, through the Redis bus (validated publish),
// or through the Redis bus with events sealed beforehand (validated once, ahead of time, as a
// producer that validates anyway would hand them over). Prints its CPU time per event at the end.
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { sealCallEvent } from '@calltrack/core';
import { Redis } from 'ioredis';
import { benchEvent } from './bench-event';

const [mode, url, prefix, count, window, runId] = process.argv.slice(2) as [
  'raw' | 'bus' | 'sealed',
  string,
  string,
  string,
  string,
  string,
];
const redis = new Redis(url);
const bus = createRedisBus({ redis, prefix, history: { maxEvents: 1000 } });
const total = Number(count);
const plain = Array.from({ length: total }, (_, index) => benchEvent(index, 'bench-tenant', runId));
const events = mode === 'sealed' ? plain.map((event) => sealCallEvent(event)) : plain;
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
// One publish first, so the script is loaded and the pub/sub kind known before timing starts.
if (mode !== 'raw') await bus.publish(benchEvent(0, 'bench-warmup', runId));
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'go') break;
}
const cpu = process.cpuUsage();
await publishAll();
const used = process.cpuUsage(cpu);
process.stdout.write(`sent ${((used.user + used.system) / total).toFixed(2)}\n`);
await bus.close();
redis.disconnect();
