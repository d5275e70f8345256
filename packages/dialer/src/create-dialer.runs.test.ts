import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { type CallControl, ProviderApiError } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { signTestJwt, verifyTestJwt } from './__tests__/test-jwt';
import { createDialer } from './create-dialer';
import { createDialerEvent } from './create-dialer-event';
import { createDialerHandler } from './create-dialer-handler';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { createRedisDialerLocks } from './create-redis-dialer-locks';
import { createRedisLeadStore } from './create-redis-lead-store';
import { createTestClock } from './create-test-clock';
import type { Dialer } from './dialer';
import type { DialerRun } from './dialer-run';

// Behind a load balancer the trigger lands on one process and the poll on another: two dialers,
// each with its own Redis connections and bus, as two processes of one app have.
const redis = await connectTestRedis();
afterAll(() => redis?.disconnect());

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const tenantId = 'acme';
const userId = 'user-1';

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function setUp() {
  const prefix = uniquePrefix('dialer-runs');
  closers.push(() => deleteKeys(redis!, prefix));
  const clock = createTestClock();
  let releaseDial: () => void = () => {};
  const dialHeld = new Promise<void>((resolve) => {
    releaseDial = resolve;
  });
  // lead-2 is refused outright; lead-3's call is accepted once the test lets it through.
  const control: CallControl = {
    provider: 'test',
    async placeCall(request) {
      if (request.to.endsWith('2')) {
        throw new ProviderApiError({ message: 'blocked', provider: 'test', providerStatus: 400 });
      }
      await dialHeld;
      return { provider: 'test', callId: `call-${request.to}`, reference: request.reference };
    },
    async terminateCall() {},
  };
  const startProcess = (name: string, { follow = true } = {}) => {
    const connection: Redis = redis!.duplicate();
    const bus = createRedisBus({ redis: connection, prefix: `${prefix}:bus` });
    const store = createRedisLeadStore({ redis: connection, prefix: `${prefix}:store` });
    const dialer = createDialer({
      store,
      bus,
      accounts: [{ id: 'test', control, callsPerSecond: 100 }],
      locks: createRedisDialerLocks({ redis: connection, prefix: `${prefix}:locks` }),
      maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
      clock,
      instanceId: name,
      logger: {},
    });
    if (follow) dialer.start();
    const handler = createDialerHandler({
      dialer,
      store,
      authenticate: (request) =>
        verifyTestJwt(request.headers.get('authorization')?.replace(/^Bearer /, '')),
    });
    closers.push(async () => {
      await dialer.stop();
      await bus.close();
      connection.disconnect();
    });
    return { dialer, bus, store, handler };
  };
  return { startProcess, releaseDial };
}

/** Resolves once `dialer` folds run events from `bus`: its subscription is live. */
async function followingRuns(dialer: Dialer, bus: ReturnType<typeof createRedisBus>) {
  for (let probe = 0; ; probe += 1) {
    const runId = `probe-${probe}`;
    await bus.publish(
      createDialerEvent('dialer.run_started', {
        id: `dialer:${runId}:started`,
        tenantId,
        userId: 'probe',
        at: Date.now(),
        data: { runId, cause: 'trigger' },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (dialer.getRun(tenantId, runId) !== undefined) return;
    if (probe > 100) throw new Error('The dialer does not follow the bus.');
  }
}

describe.skipIf(!redis)('runs readable from every process (Redis bus)', () => {
  it('a run triggered on A is read on B: running with the counts seen so far, then finished with A’s counts; never another tenant’s', async () => {
    const { startProcess, releaseDial } = await setUp();
    const a = startProcess('dialer-a');
    const b = startProcess('dialer-b');
    await a.store.addLeads(
      [1, 2, 3].map((index) => ({
        tenantId,
        userId,
        leadId: `lead-${index}`,
        phoneNumber: `+1415555000${index}`,
        // lead-1 has no zone: skipped.
        ...(index === 1 ? {} : { timeZone: 'America/New_York' }),
      })),
    );
    await followingRuns(b.dialer, b.bus);

    const triggered = await a.dialer.trigger({ tenantId, userId });
    if (triggered.outcome !== 'started') throw new Error('no run started');
    const { runId } = triggered;
    // While lead-3's call is held: the skip is on the bus, the refusal is known only to A.
    const running = await until(() => {
      const run = b.dialer.getRun(tenantId, runId);
      return run?.skipped === 1 ? run : undefined;
    }, 'the skip on B');
    expect(running).toMatchObject({
      tenantId,
      userId,
      runId,
      cause: 'trigger',
      state: 'running',
      placed: 0,
      skipped: 1,
    });
    expect(running.startedAt).toBe(a.dialer.getRun(tenantId, runId)?.startedAt);

    releaseDial();
    const [summary] = await triggered.finished;
    expect(summary).toMatchObject({ placed: 1, skipped: 1, refused: 1, unknown: 0 });
    const onA = a.dialer.getRun(tenantId, runId)!;
    const onB = await until(() => {
      const run = b.dialer.getRun(tenantId, runId);
      return run?.state === 'finished' ? run : undefined;
    }, 'the finished run on B');
    expect(onB).toEqual(onA);
    expect(onB).toMatchObject({ placed: 1, skipped: 1, refused: 1, notClaimed: 0 });

    // Another tenant's run id is unknown, wherever it is asked.
    expect(b.dialer.getRun('other', runId)).toBeUndefined();
    expect(a.dialer.getRun('other', runId)).toBeUndefined();
  });

  it('a process that began following mid-run knows the run from its run_finished, with the final counts', async () => {
    const { startProcess, releaseDial } = await setUp();
    const a = startProcess('dialer-a');
    await a.store.addLeads([
      { tenantId, userId, leadId: 'lead-3', phoneNumber: '+14155550003', timeZone: 'UTC' },
    ]);
    const triggered = await a.dialer.trigger({ tenantId, userId });
    if (triggered.outcome !== 'started') throw new Error('no run started');
    // The run has started (its call is held) before B follows the bus: B missed run_started.
    await until(() => (a.dialer.getRun(tenantId, triggered.runId) ? true : undefined), 'the run');
    const b = startProcess('dialer-b');
    await followingRuns(b.dialer, b.bus);
    expect(b.dialer.getRun(tenantId, triggered.runId)).toBeUndefined();

    releaseDial();
    await triggered.finished;
    const onB = await until(() => b.dialer.getRun(tenantId, triggered.runId), 'the run on B');
    expect(onB).toEqual(a.dialer.getRun(tenantId, triggered.runId));
    expect(onB).toMatchObject({ state: 'finished', cause: 'trigger', placed: 1 });
  });

  it('over HTTP: POST /dialer/runs on A, GET /dialer/runs/:runId on B is 200; 404 for another tenant or user; a process that does not follow the bus knows only its own runs', async () => {
    const { startProcess, releaseDial } = await setUp();
    releaseDial();
    const a = startProcess('dialer-a');
    const b = startProcess('dialer-b');
    const c = startProcess('dialer-c', { follow: false });
    await followingRuns(b.dialer, b.bus);
    const call = async (
      handler: (request: Request) => Response | Promise<Response>,
      method: string,
      path: string,
      token: string,
      // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON came back.
    ): Promise<{ status: number; body: any }> => {
      const response = await handler(
        new Request(`http://app.test${path}`, {
          method,
          headers: { authorization: `Bearer ${token}` },
        }),
      );
      return { status: response.status, body: await response.json() };
    };
    const user = await signTestJwt({ tenantId, userId });
    const otherTenant = await signTestJwt({ tenantId: 'other', userId });
    const otherUser = await signTestJwt({ tenantId, userId: 'user-2' });
    await a.store.addLeads([
      {
        tenantId,
        userId,
        leadId: 'lead-9',
        phoneNumber: '+14155550009',
        timeZone: 'America/New_York',
      },
    ]);

    const triggered = await call(a.handler, 'POST', '/dialer/runs', user);
    expect(triggered).toMatchObject({ status: 202, body: { outcome: 'started' } });
    const runId = triggered.body.runId as string;
    const read = await until(() => {
      const run = b.dialer.getRun(tenantId, runId);
      return run?.state === 'finished' ? run : undefined;
    }, 'the finished run on B');
    const onB = await call(b.handler, 'GET', `/dialer/runs/${runId}`, user);
    expect(onB.status).toBe(200);
    expect(onB.body.run as DialerRun).toEqual({ ...read, state: 'finished', placed: 1 });
    expect(onB.body.run).toEqual(
      (await call(a.handler, 'GET', `/dialer/runs/${runId}`, user)).body.run,
    );

    for (const token of [otherTenant, otherUser]) {
      expect((await call(b.handler, 'GET', `/dialer/runs/${runId}`, token)).status).toBe(404);
    }
    // C has not start()ed: it knows only the runs it started itself.
    expect((await call(c.handler, 'GET', `/dialer/runs/${runId}`, user)).status).toBe(404);
  });
});

describe('runs folded from the bus', () => {
  it('keeps the last 1,000 runs, of every process, and never takes a run for another tenant’s', async () => {
    const bus = createMemoryBus();
    const dialer = createDialer({
      store: createMemoryLeadStore(),
      bus,
      accounts: [
        {
          id: 'test',
          control: {
            provider: 'test',
            placeCall: async () => {
              throw new Error('no leads, no calls');
            },
            terminateCall: async () => {},
          },
        },
      ],
      clock: createTestClock(),
      logger: {},
    });
    dialer.start();
    closers.push(async () => {
      await dialer.stop();
      await bus.close();
    });
    const started = (runId: string, tenant = tenantId) =>
      createDialerEvent('dialer.run_started', {
        id: `dialer:${runId}:started`,
        tenantId: tenant,
        userId,
        at: Date.now(),
        data: { runId, cause: 'trigger' },
      });
    await bus.publish(started('run-0'));
    await until(() => dialer.getRun(tenantId, 'run-0'), 'the first run');
    expect(dialer.getRun('other', 'run-0')).toBeUndefined();
    // Tenant ids may hold a colon: `acme:x`'s run `y` is not `acme`'s run `x:y`.
    await bus.publish(started('y', `${tenantId}:x`));
    await until(() => dialer.getRun(`${tenantId}:x`, 'y'), 'the run of acme:x');
    expect(dialer.getRun(tenantId, 'x:y')).toBeUndefined();
    for (let index = 1; index <= 1_000; index += 1) {
      await bus.publish(started(`run-${index}`));
      if (index % 100 === 0) await until(() => dialer.getRun(tenantId, `run-${index}`), 'a run');
    }
    expect(dialer.getRun(tenantId, 'run-0')).toBeUndefined();
    expect(dialer.getRun(tenantId, 'run-1')).toMatchObject({ state: 'running', placed: 0 });
    expect(dialer.getRun(tenantId, 'run-1000')).toMatchObject({ state: 'running' });
  });
});
