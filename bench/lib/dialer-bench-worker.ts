// A dialer process of the paced-run benchmark: leads on the Redis store, run lock and pacing on
// the same Redis, calls placed with a POST to the parent's counting server. Triggers every
// user's run until no lead is pending, then prints "starts <json>" (when the pacer let each
// call start, by the clock it paces on) and "done".
import type { CallControl } from '@calltrack/core';
import { type CallPacer, createDialer } from '@calltrack/dialer';
import {
  createRedisCallPacer,
  createRedisDialerLocks,
  createRedisLeadStore,
} from '@calltrack/dialer/redis';
import { Redis } from 'ioredis';

const { redisUrl, prefix, callsUrl, users, callsPerSecond } = JSON.parse(
  process.argv[2] ?? '{}',
) as { redisUrl: string; prefix: string; callsUrl: string; users: number; callsPerSecond: number };

const redis = new Redis(redisUrl);
const control: CallControl = {
  provider: 'bench',
  async placeCall(request) {
    const response = await fetch(callsUrl, { method: 'POST', body: request.to });
    return { provider: 'bench', callId: await response.text(), reference: request.reference };
  },
  async terminateCall() {},
};
const store = createRedisLeadStore({ redis, prefix: `${prefix}:store` });
// The pacer's bound is about when it lets calls start, on its clock (Date.now()): what the
// provider sees later also carries the claim, the HTTP request and this host's scheduling.
const redisPacer = createRedisCallPacer({ redis, prefix: `${prefix}:pace` });
const starts: number[] = [];
const pacer: CallPacer = {
  async acquire(account, rate, signal) {
    await redisPacer.acquire(account, rate, signal);
    starts.push(Date.now());
  },
};
const dialer = createDialer({
  store,
  bus: { publish: async () => ({ duplicate: false }) },
  accounts: [{ id: 'bench-account', control, callsPerSecond }],
  locks: createRedisDialerLocks({ redis, prefix: `${prefix}:lock` }),
  pacer,
  callingWindow: { hours: { start: '00:00', end: '24:00' } },
  maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
  logger: {},
});
const userIds = Array.from({ length: users }, (_, index) => `user-${index}`);
for (;;) {
  const runs = await Promise.all(
    userIds.map((userId) => dialer.trigger({ tenantId: 'bench', userId })),
  );
  for (const run of runs) if (run.outcome === 'started') await run.finished;
  let pending = 0;
  for (const userId of userIds) {
    pending += (await store.listPendingLeads({ tenantId: 'bench', userId, limit: 1 })).length;
  }
  if (pending === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
process.stdout.write(`starts ${JSON.stringify(starts)}\ndone\n`);
redis.disconnect();
