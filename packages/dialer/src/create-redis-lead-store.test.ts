import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisLeadStore } from './create-redis-lead-store';
import { describeLeadStore } from './describe-lead-store';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('dialer-store');
let counter = 0;

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, filePrefix);
  redis.disconnect();
});

describeLeadStore(
  { describe: describe.skipIf(!redis), it, afterEach },
  {
    name: 'redis',
    createStore: async () => {
      counter += 1;
      const prefix = `${filePrefix}:${counter}`;
      return {
        store: createRedisLeadStore({ redis: redis!, prefix }),
        dispose: () => deleteKeys(redis!, prefix),
      };
    },
  },
);

describe.skipIf(!redis)('the Redis lead store’s attempt records', () => {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z');
  const setUp = async () => {
    counter += 1;
    const prefix = `${filePrefix}:${counter}`;
    const store = createRedisLeadStore({ redis: redis!, prefix });
    await store.addLeads([
      { tenantId: 'acme', leadId: 'lead-1', userId: 'user-1', phoneNumber: '+14155550100' },
    ]);
    const [claim] = await store.claimLeads({
      tenantId: 'acme',
      leadIds: ['lead-1'],
      now: t0,
      leaseMs: 30_000,
      claimedBy: 'dialer-1',
    });
    if (!claim?.claimed) throw new Error('not claimed');
    return {
      store,
      attempt: claim.attempt,
      attemptKey: `${prefix}:{acme}:attempt:${claim.attempt.attemptId}`,
    };
  };

  it('are written by a claim with only what their key does not say (each field is server time)', async () => {
    const { attemptKey } = await setUp();
    expect(await redis!.hgetall(attemptKey)).toEqual({
      leadId: 'lead-1',
      userId: 'user-1',
      fence: '1',
      state: 'claimed',
      claimedAt: String(t0),
      leaseUntil: String(t0 + 30_000),
      claimedBy: 'dialer-1',
    });
  });

  it('are read, and moved on, as written before claims left out the tenant, id and updatedAt', async () => {
    const { store, attempt, attemptKey } = await setUp();
    // What the claim script wrote until decision 0042.
    await redis!.hset(attemptKey, {
      tenantId: 'acme',
      attemptId: attempt.attemptId,
      updatedAt: String(t0),
    });
    expect(await store.getAttempt('acme', attempt.attemptId)).toEqual(attempt);
    expect(await store.listAttempts({ tenantId: 'acme', state: 'claimed', limit: 10 })).toEqual([
      attempt,
    ]);
    const placed = await store.updateAttempt({
      tenantId: 'acme',
      leadId: 'lead-1',
      attemptId: attempt.attemptId,
      fence: attempt.fence,
      state: 'placed',
      now: t0 + 500,
      provider: 'twilio',
      callId: 'CA-1',
    });
    expect(placed).toMatchObject({
      applied: true,
      attempt: {
        ...attempt,
        state: 'placed',
        leaseUntil: undefined,
        updatedAt: t0 + 500,
        provider: 'twilio',
        callId: 'CA-1',
      },
    });
    expect(await store.findAttemptByCall('acme', 'twilio', 'CA-1')).toEqual(
      placed.applied ? placed.attempt : undefined,
    );
  });
});
