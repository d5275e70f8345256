// Child process for the cross-process test: waits for "go" on stdin, then ingests its shuffled,
// duplicated share of the scenario into a tracker on the shared Redis store and Redis bus, with
// a few ingests in flight at once. Prints one JSON line per published event, then "done".
import { createInterface } from 'node:readline';
import { createRedisBus } from '@calltrack/bus/redis';
import { clockFrom } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { createCallTracker } from '../create-call-tracker';
import { createRedisCallStore } from '../create-redis-call-store';
import { t0 } from '../make-call-event';
import { buildScenario, deliveryOrder } from './multi-process-scenario';

const [url, storePrefix, busPrefix, seed, callsPerTenant] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const redis = new Redis(url);
const bus = createRedisBus({ redis, prefix: busPrefix });
const tracker = createCallTracker({
  bus,
  store: createRedisCallStore({ redis, prefix: storePrefix }),
  clock: clockFrom(t0),
  logger: {
    error: (message, context) => process.stderr.write(`${message} ${JSON.stringify(context)}\n`),
  },
});
const events = deliveryOrder(buildScenario(Number(callsPerTenant)), Number(seed));

process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;
lines.close();

const inFlight = 4;
let next = 0;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next < events.length) {
      const event = events[next]!;
      next += 1;
      const result = await tracker.ingest(event);
      if (result.published) {
        process.stdout.write(
          `${JSON.stringify({ worker: seed, id: event.id, type: event.type, tenantId: event.tenantId, callId: event.callId, outcome: result.outcome })}\n`,
        );
      }
    }
  }),
);
process.stdout.write('done\n');
await tracker.stop();
await bus.close();
redis.disconnect();
