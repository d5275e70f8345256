import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkLookupPastRemovedLeads } from './__tests__/look-up-past-removed-leads';
import { checkReconcilerPastRemovedLeads } from './__tests__/reconcile-past-removed-leads';
import { checkSkipsRecordedTogether } from './__tests__/skips-recorded-together';
import { checkUnrecordableCallAnswers } from './__tests__/unrecordable-call-answer';
import { createRedisLeadStore } from './create-redis-lead-store';
import { describeLeadStore } from './describe-lead-store';
import type { LeadStore } from './lead-store';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('dialer-store');
let counter = 0;
const prefixes = new WeakMap<LeadStore, string>();

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
      const store = createRedisLeadStore({ redis: redis!, prefix });
      prefixes.set(store, prefix);
      return { store, cleanup: () => deleteKeys(redis!, prefix) };
    },
    removeLead: async (store, tenantId, leadId) => {
      await redis!.del(`${prefixes.get(store)}:{${tenantId}}:lead:${leadId}`);
    },
  },
);

describe.skipIf(!redis)('createRedisLeadStore', () => {
  it('lets the reconciler get past 500 expired attempts whose leads were deleted', async () => {
    const prefix = `${filePrefix}:removed`;
    const store = createRedisLeadStore({ redis: redis!, prefix });
    await checkReconcilerPastRemovedLeads(store, 'acme', async (leadIds) => {
      await redis!.del(...leadIds.map((leadId) => `${prefix}:{acme}:lead:${leadId}`));
    });
  });

  it('asks lookupCall about the placed calls of deleted leads once, not on every pass before the rest', async () => {
    const prefix = `${filePrefix}:removed-placed`;
    const store = createRedisLeadStore({ redis: redis!, prefix });
    await checkLookupPastRemovedLeads(store, 'acme', async (leadIds) => {
      await redis!.del(...leadIds.map((leadId) => `${prefix}:{acme}:lead:${leadId}`));
    });
  });

  it('takes a placeCall answer with a call id no store can keep as ambiguous: unknown, never dialled again, settled by webhooks or the reconciler', async () => {
    await checkUnrecordableCallAnswers(
      createRedisLeadStore({ redis: redis!, prefix: `${filePrefix}:unrecordable` }),
      'acme',
    );
  });

  it('names a lead whose hash has no owner as a conflict when it is added again, as PostgreSQL does, and leaves it as it is', async () => {
    const prefix = `${filePrefix}:ownerless`;
    const store = createRedisLeadStore({ redis: redis!, prefix });
    await store.addLeads([
      { tenantId: 'acme', leadId: 'lead-1', userId: 'u1', phoneNumber: '+14155550100' },
    ]);
    // A malformed lead: its owner field is gone (written by hand, or by an earlier bug).
    await redis!.hdel(`${prefix}:{acme}:lead:lead-1`, 'userId');
    expect(
      await store.addLeads([
        { tenantId: 'acme', leadId: 'lead-1', userId: 'u1', phoneNumber: '+14155550199' },
        { tenantId: 'acme', leadId: 'lead-2', userId: 'u1', phoneNumber: '+14155550102' },
      ]),
    ).toEqual({ added: 1, existing: 0, conflicts: [{ tenantId: 'acme', leadId: 'lead-1' }] });
    expect(await redis!.hmget(`${prefix}:{acme}:lead:lead-1`, 'userId', 'phoneNumber')).toEqual([
      null,
      '+14155550100',
    ]);
    expect((await store.getLead('acme', 'lead-1'))?.userId).toBe('');
  });

  it('records the skips of a run over 100 leads outside their window in one script, not one each', async () => {
    // A connection of the test's own, whose script calls are counted.
    const counted = redis!.duplicate();
    let scripts = 0;
    const send = counted.sendCommand.bind(counted);
    counted.sendCommand = ((...args: Parameters<typeof send>) => {
      if (/^eval(sha)?$/i.test(args[0].name)) scripts += 1;
      return send(...args);
    }) as typeof counted.sendCommand;
    try {
      const store = createRedisLeadStore({ redis: counted, prefix: `${filePrefix}:skips` });
      const during = await checkSkipsRecordedTogether(store, 'acme', () => scripts);
      // One script for the page's skips (two when the server does not know it yet: EVALSHA,
      // then EVAL); it was 100, one per skip.
      expect(during).toBeLessThanOrEqual(2);
    } finally {
      counted.disconnect();
    }
  });

  it('gets past expired lease entries whose attempt was deleted', async () => {
    const prefix = `${filePrefix}:ghosts`;
    const store = createRedisLeadStore({ redis: redis!, prefix });
    const t0 = Date.parse('2026-03-02T15:00:00.000Z');
    await store.addLeads(
      ['a', 'b'].map((leadId) => ({ tenantId: 'acme', leadId, userId: 'u1', phoneNumber: '+1' })),
    );
    const request = { tenantId: 'acme', leaseMs: 1_000, claimedBy: 'test' };
    const [a] = await store.claimLeads({ ...request, leadIds: ['a'], now: t0 });
    const [b] = await store.claimLeads({ ...request, leadIds: ['b'], now: t0 + 1 });
    if (!a?.claimed || !b?.claimed) throw new Error('not claimed');
    await redis!.del(`${prefix}:{acme}:attempt:${a.attempt.attemptId}`);
    const read = async () =>
      (await store.listExpiredAttempts({ now: t0 + 10_000, limit: 1 })).map(
        (attempt) => attempt.leadId,
      );
    expect([await read(), await read()]).toEqual([[], ['b']]);
  });

  it("removes from a user's lead lists the ids it passes over (deleted leads, leads now another user's, leads no longer pending), so the lists do not grow", async () => {
    const prefix = `${filePrefix}:stale-index`;
    const store = createRedisLeadStore({ redis: redis!, prefix });
    const key = (name: string) => `${prefix}:{acme}:${name}`;
    const ids = Array.from({ length: 6 }, (_, index) => `lead-${index}`);
    await store.addLeads(
      ids.map((leadId, index) => ({
        tenantId: 'acme',
        leadId,
        userId: 'u1',
        phoneNumber: `+1415555010${index}`,
      })),
    );
    // Deleted behind the store's back, as an app deletes a row of its own.
    await redis!.del(key('lead:lead-0'), key('lead:lead-3'));
    // Given to u2 by the CRM: deleted, then loaded again as theirs.
    await redis!.del(key('lead:lead-1'));
    await store.addLeads([
      { tenantId: 'acme', leadId: 'lead-1', userId: 'u2', phoneNumber: '+14155550101' },
    ]);
    // Being dialled: no longer pending, still u1's (the claim takes it off the pending list; an
    // entry left there by an earlier version or by hand is passed over like the rest).
    await store.claimLeads({
      tenantId: 'acme',
      leadIds: ['lead-5'],
      now: 1_000,
      leaseMs: 30_000,
      claimedBy: 'test',
    });
    await redis!.zadd(key('pending:u1'), 0, 'lead-5');
    const listed = async () => ({
      pending: (await store.listPendingLeads({ tenantId: 'acme', userId: 'u1', limit: 2 })).map(
        (lead) => lead.leadId,
      ),
      all: (await store.listLeads({ tenantId: 'acme', userId: 'u1', limit: 10 })).map(
        (lead) => lead.leadId,
      ),
    });
    const expected = { pending: ['lead-2', 'lead-4'], all: ['lead-2', 'lead-4', 'lead-5'] };
    expect(await listed()).toEqual(expected);
    expect(await redis!.zrange(key('pending:u1'), 0, -1)).toEqual(['lead-2', 'lead-4', 'lead-5']);
    // The pending page held two leads: the last page, past lead-4, finds lead-5 and drops it.
    expect(
      await store.listPendingLeads({
        tenantId: 'acme',
        userId: 'u1',
        afterLeadId: 'lead-4',
        limit: 2,
      }),
    ).toEqual([]);
    expect(await redis!.zrange(key('pending:u1'), 0, -1)).toEqual(['lead-2', 'lead-4']);
    expect(await redis!.zrange(key('leads:u1'), 0, -1)).toEqual(['lead-2', 'lead-4', 'lead-5']);
    // u2's lists are theirs, untouched.
    expect(await redis!.zrange(key('pending:u2'), 0, -1)).toEqual(['lead-1']);
    expect(await redis!.zrange(key('leads:u2'), 0, -1)).toEqual(['lead-1']);
    // Read again, the same leads: nothing that was the user's was dropped.
    expect(await listed()).toEqual(expected);
  });

  it("keeps on a user's list a lead loaded again for them between the read that passed it over and the removal", async () => {
    const prefix = `${filePrefix}:stale-race`;
    const key = (name: string) => `${prefix}:{acme}:${name}`;
    const lead = { tenantId: 'acme', leadId: 'lead-0', userId: 'u1', phoneNumber: '+14155550100' };
    // The store's client, whose pipelines (the page's lead reads) run `between` once answered.
    let between: (() => Promise<void>) | undefined;
    const client = new Proxy(redis!, {
      get(target, property) {
        if (property === 'pipeline') {
          return () => {
            const pipeline = target.pipeline();
            const exec = pipeline.exec.bind(pipeline);
            pipeline.exec = (async () => {
              const replies = await exec();
              const run = between;
              between = undefined;
              await run?.();
              return replies;
            }) as typeof pipeline.exec;
            return pipeline;
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const store = createRedisLeadStore({ redis: client, prefix });
    await store.addLeads([lead]);
    await redis!.del(key('lead:lead-0'));
    // Read while deleted; loaded again before the read's removal runs.
    between = async () => {
      await createRedisLeadStore({ redis: redis!, prefix }).addLeads([lead]);
    };
    expect(await store.listPendingLeads({ tenantId: 'acme', userId: 'u1', limit: 10 })).toEqual([]);
    expect(await redis!.zrange(key('pending:u1'), 0, -1)).toEqual(['lead-0']);
    expect(
      (await store.listPendingLeads({ tenantId: 'acme', userId: 'u1', limit: 10 })).map(
        (found) => found.leadId,
      ),
    ).toEqual(['lead-0']);
  });
});
