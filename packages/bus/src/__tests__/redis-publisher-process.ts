// Child process for the cross-process tests: publishes `count` events (ids child:0, child:1, …)
// for a tenant and prints each cursor with `new` or `dup`, then "done".
import { Redis } from 'ioredis';
import { createRedisBus } from '../create-redis-bus';

const [url, prefix, tenantId, count] = process.argv.slice(2) as [string, string, string, string];
const redis = new Redis(url);
const bus = createRedisBus({ redis, prefix });
for (let index = 0; index < Number(count); index += 1) {
  const { cursor, duplicate } = await bus.publish({
    id: `child:${index}`,
    type: 'call.ringing',
    tenantId,
    provider: 'twilio',
    callId: `CA-child-${index}`,
    status: 'ringing',
    occurredAt: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
    data: {},
  });
  process.stdout.write(`${cursor} ${duplicate ? 'dup' : 'new'}\n`);
}
process.stdout.write('done\n');
await bus.close();
redis.disconnect();
