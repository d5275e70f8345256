import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryDialerLocks } from './create-memory-dialer-locks';
import { createRedisDialerLocks } from './create-redis-dialer-locks';
import { createTestClock } from './create-test-clock';
import { keepLease } from './keep-lease';

const redis = await connectTestRedis();
const prefix = uniquePrefix('keep-lease');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe('keepLease', () => {
  it('renews every third of the ttl, and aborts without a cause once the lease is not held', async () => {
    const clock = createTestClock();
    const locks = createMemoryDialerLocks({ clock });
    const lease = (await locks.acquire('run:acme:u1', 3_000))!;
    let renewals = 0;
    const kept = keepLease(lease, 3_000, clock, async () => {
      renewals += 1;
    });
    await clock.advance(1_000);
    await clock.advance(1_000);
    expect([renewals, kept.signal.aborted]).toEqual([2, false]);
    await lease.release(); // another holder may take it now: the next renewal finds it lost
    await clock.advance(1_000);
    expect(kept.signal.aborted).toBe(true);
    expect(kept.signal.reason).toBeInstanceOf(Error);
    expect((kept.signal.reason as Error).message).toBe('The lease on run:acme:u1 was lost.');
    expect('cause' in (kept.signal.reason as Error)).toBe(false);
    expect(renewals).toBe(2);
  });

  it('keeps what a renewal threw as the cause of the abort reason, and stops renewing', async () => {
    const clock = createTestClock();
    const locks = createMemoryDialerLocks({ clock });
    const lease = (await locks.acquire('run:acme:u2', 3_000))!;
    const refused = new Error('renew refused');
    let renewals = 0;
    const kept = keepLease(
      {
        ...lease,
        renew: async () => {
          renewals += 1;
          throw refused;
        },
      },
      3_000,
      clock,
    );
    await clock.advance(1_000);
    expect(kept.signal.aborted).toBe(true);
    const reason = kept.signal.reason as Error;
    expect(reason.message).toBe('Renewing the lease on run:acme:u2 failed; it counts as lost.');
    expect(reason.cause).toBe(refused);
    await clock.advance(3_000);
    expect(renewals).toBe(1);
    kept.stop();
  });

  it.skipIf(!redis)(
    "keeps the Redis locks' error as the cause when their client can no longer renew",
    async () => {
      const clock = createTestClock();
      // A client of the locks' own, closed under the held lease: its renewal rejects.
      const client = redis!.duplicate();
      const locks = createRedisDialerLocks({ redis: client, prefix });
      const lease = (await locks.acquire('run:acme:u3', 30_000))!;
      expect(lease).toBeDefined();
      let renewed = (): void => {};
      const firstRenewal = new Promise<void>((resolve) => {
        renewed = resolve;
      });
      const kept = keepLease(lease, 30_000, clock, async () => renewed());
      await clock.advance(10_000);
      // The renewal goes to Redis and back before the next one is scheduled.
      await firstRenewal;
      expect(kept.signal.aborted).toBe(false);
      // Closed for good before the next renewal is due: a command sent while the socket is still
      // closing waits for its close (an I/O turn, longer on a busy machine); one sent after fails
      // at once.
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.disconnect();
      await ended;
      // Until the next renewal is due and fails (it is scheduled once the first one's callback
      // has returned: a turn of the event loop at most).
      for (let turn = 0; turn < 100 && !kept.signal.aborted; turn += 1) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        await clock.advance(10_000);
      }
      expect(kept.signal.aborted).toBe(true);
      const reason = kept.signal.reason as Error;
      expect(reason.message).toBe('Renewing the lease on run:acme:u3 failed; it counts as lost.');
      expect(reason.cause).toBeInstanceOf(Error);
      expect(String((reason.cause as Error).message)).toMatch(/closed/i);
      kept.stop();
    },
  );
});
