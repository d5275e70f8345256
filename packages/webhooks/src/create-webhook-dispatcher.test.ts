import { createMemoryBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import { makeCallEvent, startWebhookReceiver } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { describeDispatcher } from './__tests__/describe-dispatcher';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { DeliveryJob } from './webhook-delivery';

describeDispatcher('the memory store', async () => {
  const store = createMemoryWebhookStore();
  return { store, dispose: () => store.close() };
});

describe('createWebhookDispatcher options', () => {
  const bus = createMemoryBus();

  it('refuses a retention shorter than a delivery can stay pending, which would drop its retries', () => {
    const store = createMemoryWebhookStore();
    expect(() =>
      createWebhookDispatcher({ store, bus, retentionMs: 1000, retrySchedule: [2500] }),
    ).toThrowError(/retentionMs \(1000\) must outlast the retry schedule/);
    // A 2.5 s retry may wait 60 s (throttled), twice that (Retry-After), +20 % jitter, and each
    // of its two attempts may take the 15 s timeout and a 5 s margin.
    const enough = 2 * 60_000 * 1.2 + 2 * 20_000;
    expect(() =>
      createWebhookDispatcher({ store, bus, retentionMs: enough - 1, retrySchedule: [2500] }),
    ).toThrowError(InvalidArgumentError);
    expect(() =>
      createWebhookDispatcher({ store, bus, retentionMs: enough, retrySchedule: [2500] }),
    ).not.toThrow();
    // The defaults (14 days against about 27.6 hours of retries) hold.
    expect(() => createWebhookDispatcher({ store, bus })).not.toThrow();
  });

  it('refuses a cache time or a secret grace period that is not a whole number of milliseconds', () => {
    const store = createMemoryWebhookStore();
    for (const value of [-1, Number.NaN, 0.5, Number.POSITIVE_INFINITY]) {
      expect(() => createWebhookDispatcher({ store, bus, endpointCacheMs: value })).toThrowError(
        /endpointCacheMs must be a whole number of milliseconds, 0 or more/,
      );
      expect(() =>
        createWebhookDispatcher({ store, bus, secretGracePeriodMs: value }),
      ).toThrowError(/secretGracePeriodMs must be a whole number of milliseconds, 0 or more/);
    }
    // 0 is meaningful for both: no cache, and no grace period.
    expect(() =>
      createWebhookDispatcher({ store, bus, endpointCacheMs: 0, secretGracePeriodMs: 0 }),
    ).not.toThrow();
  });

  // NaN (a setting read with Number() that was not set) compared false with every failure, and
  // the endpoint was never disabled however long it failed: the safety net was off, silently.
  it('refuses an auto-disable window or failure count that is not a whole number', () => {
    const store = createMemoryWebhookStore();
    for (const afterMs of [Number.NaN, -1, 0.5, Number.POSITIVE_INFINITY]) {
      expect(() => createWebhookDispatcher({ store, bus, autoDisable: { afterMs } })).toThrowError(
        /autoDisable.afterMs must be a whole number of milliseconds, 0 or more/,
      );
    }
    for (const minFailures of [Number.NaN, 0, 1.5]) {
      expect(() =>
        createWebhookDispatcher({ store, bus, autoDisable: { minFailures } }),
      ).toThrowError(/autoDisable.minFailures must be a positive integer/);
    }
    expect(() =>
      createWebhookDispatcher({ store, bus, autoDisable: { afterMs: 0, minFailures: 1 } }),
    ).not.toThrow();
    expect(() => createWebhookDispatcher({ store, bus, autoDisable: false })).not.toThrow();
  });

  // Node runs a setInterval of 0, NaN or more than 2^31 - 1 ms every millisecond: the cursors
  // were then written to the store up to 1,000 times a second.
  it('refuses a cursor flush interval that setInterval cannot keep', () => {
    const store = createMemoryWebhookStore();
    for (const cursorFlushIntervalMs of [0, -1, Number.NaN, 0.5, 2 ** 31]) {
      expect(() => createWebhookDispatcher({ store, bus, cursorFlushIntervalMs })).toThrowError(
        'createWebhookDispatcher: cursorFlushIntervalMs must be an integer from 1 to 2147483647.',
      );
    }
    expect(() =>
      createWebhookDispatcher({ store, bus, cursorFlushIntervalMs: 2 ** 31 - 1 }),
    ).not.toThrow();
  });

  // The request timeout is a setTimeout (and undici's timeout): past 2^31 - 1 ms Node fires it
  // after 1 ms, so every delivery failed at once as "No complete answer within … ms".
  // (The default retention refuses such a timeout anyway, as longer than a delivery may stay
  // pending: a retention of a month without retries took it.)
  it('refuses a request timeout that a timer cannot keep', () => {
    const store = createMemoryWebhookStore();
    const month = { retrySchedule: [], retentionMs: 31 * 86_400_000 };
    for (const timeoutMs of [0, -1, Number.NaN, 0.5, 2 ** 31]) {
      expect(() => createWebhookDispatcher({ store, bus, ...month, timeoutMs })).toThrowError(
        'createWebhookDispatcher: timeoutMs must be an integer from 1 to 2147483647.',
      );
    }
    expect(() =>
      createWebhookDispatcher({ store, bus, ...month, timeoutMs: 2 ** 31 - 1 }),
    ).not.toThrow();
  });

  // A dispatcher whose retries end within hours may keep its log for less than a day: the stats
  // a caller asks for without a window were refused (400) for being longer than the retention.
  it('answers stats without a window over the retention when it is shorter than a day', async () => {
    const store = createMemoryWebhookStore();
    const hours = 6 * 3_600_000;
    const dispatcher = createWebhookDispatcher({
      store,
      bus,
      retrySchedule: [5_000, 60_000],
      retentionMs: hours,
    });
    const { endpoint } = await dispatcher.createEndpoint('acme', {
      url: 'https://crm.example.com/hooks',
    });
    const stats = await dispatcher.getStats('acme', endpoint.id);
    expect([stats.windowMs, stats.attempts]).toEqual([hours, 0]);
    // A window asked for is held to the retention as before.
    await expect(
      dispatcher.getStats('acme', endpoint.id, { windowMs: hours + 1 }),
    ).rejects.toThrowError(/The stats window must be from 1 second to the retention/);
  });

  // The README: a dead letter is listed until its message expires (`retentionMs`), "so every dead
  // letter listed can be recovered". recover() took `since` only within the last 14 days, so
  // with a longer retention the older dead letters were listed and could not be recovered.
  it('recovers every dead letter it lists, also past 14 days with a longer retention', async () => {
    const day = 86_400_000;
    const store = createMemoryWebhookStore();
    const clock = createTestClock(Date.parse('2026-01-01T00:00:00.000Z'));
    const receiver = await startWebhookReceiver();
    receiver.setDefault('/hooks', { status: 500 });
    const localBus = createMemoryBus();
    const dispatcher = createWebhookDispatcher({
      store,
      bus: localBus,
      clock,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      retrySchedule: [],
      retentionMs: 30 * day,
      onError: () => {},
    });
    try {
      const { endpoint } = await dispatcher.createEndpoint('acme', {
        url: `${receiver.url}/hooks`,
      });
      await dispatcher.start();
      const failedAt = clock.now();
      await localBus.publish(
        makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }),
      );
      let listed = await dispatcher.listFailedDeliveries('acme', { endpointId: endpoint.id });
      for (let tries = 0; tries < 500 && listed.deliveries.length === 0; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        listed = await dispatcher.listFailedDeliveries('acme', { endpointId: endpoint.id });
      }
      expect(listed.deliveries).toHaveLength(1);
      clock.advance(20 * day);
      listed = await dispatcher.listFailedDeliveries('acme', { endpointId: endpoint.id });
      expect(listed.deliveries).toHaveLength(1);
      receiver.setDefault('/hooks', { status: 204 });
      expect(await dispatcher.recover('acme', endpoint.id, { since: failedAt })).toEqual({
        queued: 1,
      });
      await receiver.waitFor(2, { path: '/hooks' });
      // Past the retention nothing is kept, and a window that starts there is refused.
      await expect(
        dispatcher.recover('acme', endpoint.id, { since: clock.now() - 30 * day - 1 }),
      ).rejects.toThrowError(/"since" must be a time within the last 30 days/);
    } finally {
      await receiver.close();
      await dispatcher.close();
      await localBus.close();
    }
  });

  // A rotation may keep an old secret signing for 7 days at most: a longer default was taken,
  // and then every rotation that did not name its own grace period was a 400 blaming the
  // caller's `gracePeriodSeconds`, which it never sent.
  it('refuses a secret grace period over 7 days, which no rotation could use', async () => {
    const store = createMemoryWebhookStore();
    const week = 7 * 24 * 3_600_000;
    expect(() =>
      createWebhookDispatcher({ store, bus, secretGracePeriodMs: week + 1 }),
    ).toThrowError(/secretGracePeriodMs must be at most 604800000 \(7 days\)/);
    const dispatcher = createWebhookDispatcher({ store, bus, secretGracePeriodMs: week });
    const { endpoint } = await dispatcher.createEndpoint('acme', {
      url: 'https://crm.example.com/hooks',
    });
    const rotated = await dispatcher.rotateSecret('acme', endpoint.id);
    expect(rotated.secret).toMatch(/^whsec_/);
  });
});

describe('createWebhookDispatcher paging', () => {
  /** `count` deliveries of one endpoint given up in one millisecond, each with its log row. */
  const giveUpAtOnce = async (count = 600) => {
    const clock = createTestClock(Date.UTC(2026, 2, 1));
    const store = createMemoryWebhookStore();
    const queued: DeliveryJob[] = [];
    const enqueue = store.enqueue.bind(store);
    store.enqueue = async (jobs) => {
      queued.push(...jobs);
      await enqueue(jobs);
    };
    const dispatcher = createWebhookDispatcher({
      store,
      bus: createMemoryBus(),
      clock,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
    });
    const { endpoint } = await dispatcher.createEndpoint('acme', { url: 'http://127.0.0.1:9/' });
    const at = clock.now();
    for (let index = 0; index < count; index += 1) {
      const messageId = `msg_burst${index}`;
      const message = { id: messageId, tenantId: 'acme', eventId: `e${index}` };
      await store.createDeliveries(
        { ...message, eventType: 'call.ended', body: '{}', createdAt: at },
        [endpoint.id],
        86_400_000,
      );
      await store.recordAttempt({
        attempt: {
          id: `att_burst${String(index).padStart(4, '0')}`,
          tenantId: 'acme',
          endpointId: endpoint.id,
          messageId,
          eventType: 'call.ended',
          url: endpoint.url,
          attempt: 0,
          trigger: 'event',
          status: 'failed',
          statusCode: 0,
          durationMs: 0,
          responseBody: '',
          error: 'Not sent: the endpoint is disabled.',
          startedAt: at,
        },
        delivery: { status: 'failed', attempts: 0, updatedAt: at },
        retentionMs: 86_400_000,
        maxAttemptsPerEndpoint: 10_000,
        now: at,
      });
    }
    return {
      dispatcher,
      store,
      clock,
      endpointId: endpoint.id,
      at,
      queued,
      close: () => dispatcher.close(),
    };
  };

  it('recovers all 600 of 600 failed deliveries sharing one updatedAt, each once', async () => {
    const { dispatcher, endpointId, at, queued, close } = await giveUpAtOnce();
    try {
      expect(await dispatcher.recover('acme', endpointId, { since: at - 1000 })).toEqual({
        queued: 600,
      });
      expect(new Set(queued.map((job) => job.messageId)).size).toBe(600);
      expect(queued.every((job) => job.trigger === 'recover')).toBe(true);
    } finally {
      await close();
    }
  });

  it('recovers again after a call that failed halfway without queuing what that call queued', async () => {
    const { dispatcher, store, clock, endpointId, at, close } = await giveUpAtOnce();
    try {
      const enqueue = store.enqueue.bind(store);
      let calls = 0;
      store.enqueue = async (jobs) => {
        calls += 1;
        if (calls === 2) throw new Error('Connection is closed.'); // the second page
        await enqueue(jobs);
      };
      await expect(dispatcher.recover('acme', endpointId, { since: at - 1000 })).rejects.toThrow(
        /closed/,
      );
      // The failed call queued (and claimed) its first page: the repeat queues the rest, and
      // counts only those (each dead letter is counted by one call).
      expect(await dispatcher.recover('acme', endpointId, { since: at - 1000 })).toEqual({
        queued: 100,
      });
      // What the queue holds now, run: each delivery once.
      const ran: string[] = [];
      store.startWorker(
        async (job) => {
          ran.push(job.messageId);
          return { type: 'done' };
        },
        { concurrency: 2000, clock },
      );
      for (let tries = 0; tries < 100 && ran.length < 600; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ran).toHaveLength(600);
      expect(new Set(ran).size).toBe(600);
    } finally {
      await close();
    }
  });

  it('does not send a queued recovery of a delivery that was delivered meanwhile', async () => {
    const { dispatcher, store, endpointId, at, close } = await giveUpAtOnce(3);
    try {
      expect(await dispatcher.recover('acme', endpointId, { since: at - 1000 })).toEqual({
        queued: 3,
      });
      // Before the queue runs it, a resend delivers msg_burst1.
      await store.recordAttempt({
        attempt: {
          id: 'att_resent',
          tenantId: 'acme',
          endpointId,
          messageId: 'msg_burst1',
          eventType: 'call.ended',
          url: 'http://127.0.0.1:9/',
          attempt: 1,
          trigger: 'resend',
          status: 'succeeded',
          statusCode: 200,
          durationMs: 1,
          responseBody: '',
          startedAt: at + 1,
        },
        delivery: { status: 'succeeded', attempts: 1, lastStatusCode: 200, updatedAt: at + 1 },
        retentionMs: 86_400_000,
        maxAttemptsPerEndpoint: 10_000,
        now: at + 1,
      });
      await dispatcher.start();
      let recovered: string[] = [];
      for (let tries = 0; tries < 200 && recovered.length < 2; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const { attempts } = await dispatcher.listAttempts('acme', endpointId, { limit: 100 });
        recovered = attempts.filter((row) => row.trigger === 'recover').map((row) => row.messageId);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const { attempts } = await dispatcher.listAttempts('acme', endpointId, { limit: 100 });
      recovered = attempts.filter((row) => row.trigger === 'recover').map((row) => row.messageId);
      expect(recovered.sort()).toEqual(['msg_burst0', 'msg_burst2']);
    } finally {
      await close();
    }
  });

  it('answers a short page with a cursor, not the end, when a status filter matches little', async () => {
    const clock = createTestClock(Date.UTC(2026, 2, 1));
    const store = createMemoryWebhookStore();
    const dispatcher = createWebhookDispatcher({ store, bus: createMemoryBus(), clock });
    const { endpoint } = await dispatcher.createEndpoint('acme', {
      url: 'https://crm.example.com/hook',
    });
    const at = clock.now();
    // One success, then 250 failures after it, followed through the cursor however far one call reads.
    for (let index = 0; index <= 250; index += 1) {
      await store.recordAttempt({
        attempt: {
          id: `att_${String(index).padStart(4, '0')}`,
          tenantId: 'acme',
          endpointId: endpoint.id,
          messageId: `msg_${index}`,
          eventType: 'call.ended',
          url: endpoint.url,
          attempt: 1,
          trigger: 'event',
          status: index === 0 ? 'succeeded' : 'failed',
          statusCode: index === 0 ? 200 : 500,
          durationMs: 1,
          responseBody: '',
          ...(index === 0 ? {} : { error: 'HTTP 500' }),
          startedAt: at + index,
        },
        retentionMs: 86_400_000,
        maxAttemptsPerEndpoint: 10_000,
        now: at + index,
      });
    }
    try {
      const found: string[] = [];
      let cursor: string | undefined;
      for (let calls = 0; calls < 5; calls += 1) {
        const page = await dispatcher.listAttempts('acme', endpoint.id, {
          status: 'succeeded',
          limit: 10,
          ...(cursor === undefined ? {} : { cursor }),
        });
        found.push(...page.attempts.map((attempt) => attempt.id));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(found).toEqual(['att_0000']);
    } finally {
      await dispatcher.close();
    }
  });

  it('reads at most 1,000 log rows for one filtered page, however long the log', async () => {
    const clock = createTestClock(Date.UTC(2026, 2, 1));
    const store = createMemoryWebhookStore();
    let rowsRead = 0;
    const listAttempts = store.listAttempts.bind(store);
    store.listAttempts = async (...args) => {
      const rows = await listAttempts(...args);
      rowsRead += rows.length;
      return rows;
    };
    const dispatcher = createWebhookDispatcher({ store, bus: createMemoryBus(), clock });
    const { endpoint } = await dispatcher.createEndpoint('acme', {
      url: 'https://crm.example.com/hook',
    });
    const at = clock.now();
    for (let index = 0; index < 3000; index += 1) {
      await store.recordAttempt({
        attempt: {
          id: `att_${String(index).padStart(4, '0')}`,
          tenantId: 'acme',
          endpointId: endpoint.id,
          messageId: `msg_${index}`,
          eventType: 'call.ended',
          url: endpoint.url,
          attempt: 1,
          trigger: 'event',
          status: 'failed',
          statusCode: 500,
          durationMs: 1,
          responseBody: '',
          error: 'HTTP 500',
          startedAt: at + index,
        },
        retentionMs: 86_400_000,
        maxAttemptsPerEndpoint: 10_000,
        now: at + index,
      });
    }
    try {
      // An all-failed log asked for its successes: a short page and a cursor, not the whole log.
      const page = await dispatcher.listAttempts('acme', endpoint.id, {
        status: 'succeeded',
        limit: 1000,
      });
      expect(page.attempts).toEqual([]);
      expect(page.nextCursor).not.toBeNull();
      expect(rowsRead).toBeLessThanOrEqual(1000);
      // Stats read the window in pages too.
      rowsRead = 0;
      expect(await dispatcher.getStats('acme', endpoint.id)).toMatchObject({ attempts: 3000 });
      expect(rowsRead).toBe(3000);
    } finally {
      await dispatcher.close();
    }
  });

  it('pages the dead letters and the log by nextCursor through one millisecond, each row once', async () => {
    const { dispatcher, endpointId, close } = await giveUpAtOnce();
    try {
      const seen = { deliveries: new Set<string>(), attempts: new Set<string>() };
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await dispatcher.listFailedDeliveries('acme', {
          endpointId,
          limit: 250,
          ...(cursor === undefined ? {} : { cursor }),
        });
        for (const delivery of page.deliveries) seen.deliveries.add(delivery.messageId);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      cursor = undefined;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await dispatcher.listAttempts('acme', endpointId, {
          status: 'failed',
          limit: 250,
          ...(cursor === undefined ? {} : { cursor }),
        });
        for (const attempt of page.attempts) seen.attempts.add(attempt.id);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect([seen.deliveries.size, seen.attempts.size]).toEqual([600, 600]);
      await expect(
        dispatcher.listAttempts('acme', endpointId, { cursor: 'not a cursor' }),
      ).rejects.toMatchObject({ status: 400 });
      await expect(
        dispatcher.listFailedDeliveries('acme', { cursor: cursor!, before: Date.now() }),
      ).rejects.toMatchObject({ status: 400 });
    } finally {
      await close();
    }
  });
});

describe('createWebhookDispatcher cursors', () => {
  it('reads only the tenant’s own cursor to create an endpoint, or every cursor from a store without loadCursor', async () => {
    for (const oneRead of [true, false]) {
      const store = createMemoryWebhookStore();
      const reads: string[] = [];
      const loadCursors = store.loadCursors.bind(store);
      store.loadCursors = async () => {
        reads.push('every tenant');
        return loadCursors();
      };
      const loadCursor = store.loadCursor?.bind(store);
      if (oneRead) {
        store.loadCursor = async (tenantId) => {
          reads.push(tenantId);
          return loadCursor!(tenantId);
        };
      } else {
        delete store.loadCursor; // a store written before loadCursor existed
      }
      await store.saveCursors({ globex: 'c0-1', initech: 'c0-2' });
      const bus = createMemoryBus();
      const dispatcher = createWebhookDispatcher({ store, bus });
      try {
        await dispatcher.createEndpoint('acme', { url: 'https://crm.example.com/1' });
        const start = (await loadCursors()).acme;
        expect(start).toBe(await bus.position!('acme')); // where acme's events start
        await bus.publish(makeCallEvent({ tenantId: 'acme' }));
        // A second endpoint: acme has a cursor, which stays.
        await dispatcher.createEndpoint('acme', { url: 'https://crm.example.com/2' });
        expect((await loadCursors()).acme).toBe(start);
        expect([oneRead, reads]).toEqual([
          oneRead,
          oneRead ? ['acme', 'acme'] : ['every tenant', 'every tenant'],
        ]);
      } finally {
        await dispatcher.close();
        await bus.close();
      }
    }
  });
});

describe('createWebhookDispatcher across restarts', () => {
  // A tenant's first endpoint, then a deploy before its first event: the event published while no
  // dispatcher ran is still in the bus history, and the next dispatcher delivers it.
  it('delivers what a tenant got while no dispatcher ran, before its first event was ever handled', async () => {
    const bus = createMemoryBus();
    const store = createMemoryWebhookStore();
    const receiver = await startWebhookReceiver();
    const errors: Error[] = [];
    const dispatcher = () =>
      createWebhookDispatcher({
        store,
        bus,
        allowHttp: true,
        allowedCidrs: ['127.0.0.0/8'],
        onError: (error) => errors.push(error),
      });
    try {
      const first = dispatcher();
      await first.start();
      await first.createEndpoint('acme', { url: `${receiver.url}/hook` });
      await first.close(); // a deploy
      const missed = makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' });
      await bus.publish(missed);
      const second = dispatcher();
      await second.start();
      const [received] = await receiver.waitFor(1, { path: '/hook' });
      expect(received!.headers['webhook-id']).toBeDefined();
      expect(JSON.parse(received!.body).data.id).toBe(missed.id);
      await second.close();
      expect(errors).toEqual([]);
    } finally {
      await receiver.close();
      await bus.close();
      await store.close();
    }
  });
});
