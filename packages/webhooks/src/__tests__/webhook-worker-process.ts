// A dispatcher process for the crash tests: Redis bus, Redis store, a test clock the parent moves
// by writing "advance <ms>" lines to stdin. Prints "ready" once it follows the bus and delivers.
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { Redis } from 'ioredis';
import { createRedisWebhookStore } from '../create-redis-webhook-store';
import { createTestClock } from '../create-test-clock';
import { createWebhookDispatcher } from '../create-webhook-dispatcher';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const clock = createTestClock(Number(process.env.CLOCK_START));
const bus = createRedisBus({ redis, prefix: process.env.BUS_PREFIX! });
const store = createRedisWebhookStore({
  redis,
  prefix: process.env.STORE_PREFIX!,
  lockDurationMs: 1000,
  stalledIntervalMs: 500,
});
const dispatcher = createWebhookDispatcher({
  bus,
  store,
  clock,
  allowHttp: true,
  allowedCidrs: ['127.0.0.0/8'],
  retrySchedule: [60_000, 60_000],
  retryJitter: 0,
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 3000),
  concurrency: 20,
  cursorFlushIntervalMs: 50,
  onError: (error) => console.error('[worker]', error.message),
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, value] = line.split(' ');
  if (command === 'advance') {
    clock.advance(Number(value));
    console.log(`advanced ${clock.now()}`);
  }
});

await dispatcher.start();
console.log('ready');
