// The dialer's background loops (the reconciler, the call-event follower) on a lead store whose
// Redis client has ended (its `retryStrategy` gave up, or the app called quit()): every pass and
// every event fails alike, a bug or a shutdown rather than an outage, so each loop says so once,
// not at every pass or event. On a redis-server of this file's own; the reconciler moved by the
// dialer's test clock.
import { createMemoryBus } from '@calltrack/bus';
import type { CallControl } from '@calltrack/core';
import { endableRedisClients, makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createDialer } from './create-dialer';
import { createRedisLeadStore } from './create-redis-lead-store';
import { createTestClock } from './create-test-clock';
import type { LeadStore } from './lead-store';

const clients = endableRedisClients();

/** Never asked to dial: these dialers have no leads. */
const control: CallControl = {
  provider: 'twilio',
  placeCall: () => Promise.reject(new Error('no lead is dialled here')),
  terminateCall: () => Promise.resolve(),
};

const endedLine = (loop: string) =>
  `${loop} fail: their Redis client has ended (the app called quit() or disconnect(), or its retryStrategy gave up), a bug or a shutdown, not an outage. Reported once: they fail until the client connects again.`;

/** Lets the dialer's background work run (turns of the event loop, no time) until `done`. */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !done(); turn += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("the dialer's loops on a lead store whose Redis client has ended", () => {
  it('log it once per loop over ten reconciler passes and ten call events', async () => {
    const redis = clients.connect();
    if (!redis) return;
    const redisStore = createRedisLeadStore({ redis, prefix: 'closed:dialer-loops' });
    const runs = { passes: 0, events: 0 };
    const store: LeadStore = {
      ...redisStore,
      listExpiredAttempts(request) {
        runs.passes += 1;
        return redisStore.listExpiredAttempts(request);
      },
      findAttemptByCall(...args) {
        runs.events += 1;
        return redisStore.findAttemptByCall(...args);
      },
    };
    const clock = createTestClock();
    const bus = createMemoryBus();
    const logged: string[] = [];
    const reconcileIntervalMs = 30_000;
    const dialer = createDialer({
      store,
      bus,
      accounts: [{ id: 'twilio-main', control }],
      clock,
      reconcileIntervalMs,
      logger: { error: (message) => logged.push(message) },
    });
    try {
      await dialer.start();
      await clients.end(redis);
      for (let pass = 1; pass <= 10; pass += 1) {
        await clock.advance(reconcileIntervalMs);
        await until(() => runs.passes === pass);
        await bus.publish(makeCallEvent({ type: 'call.ringing', tenantId: 'acme' }));
        await until(() => runs.events === pass);
      }
      // Time for a line per pass and per event to come, were there any.
      await until(() => logged.length > 2);
      expect(runs).toEqual({ passes: 10, events: 10 });
      expect(logged.sort()).toEqual([
        endedLine('Dialer call-event updates'),
        endedLine('Dialer reconciliations'),
      ]);
    } finally {
      await dialer.stop();
      await bus.close();
    }
  });
});
