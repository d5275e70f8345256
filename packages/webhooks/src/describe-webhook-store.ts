import assert from 'node:assert/strict';
import type { ConformanceTestApi } from '@calltrack/core';
import { createTestClock } from './create-test-clock';
import { recoveryDeliveryJob } from './recovery-delivery-job';
import type {
  DeliveryJob,
  DeliveryJobOutcome,
  WebhookAttempt,
  WebhookMessage,
} from './webhook-delivery';
import type { StoredEndpoint } from './webhook-endpoint';
import type { RecordAttemptInput, WebhookStore } from './webhook-store';

/** Options of {@link describeWebhookStore}. */
export interface WebhookStoreSuiteOptions {
  /** Shown in the test names. */
  name: string;
  /**
   * A fresh, empty store for one test and what to run after it; undefined skips the suite (for
   * example when its server is not running).
   */
  createStore: () => Promise<{ store: WebhookStore; cleanup?: () => Promise<void> } | undefined>;
}

const day = 86_400_000;

/**
 * The conformance suite every {@link WebhookStore} passes (the memory and Redis stores run it as
 * it is). Call it from a test file with your runner's functions and a factory for your store.
 *
 * @example
 * import { afterEach, describe, it } from 'vitest';
 * import { describeWebhookStore } from '@calltrack/webhooks/testing';
 * describeWebhookStore({ describe, it, afterEach }, {
 *   name: 'my store',
 *   createStore: async () => ({ store: createMyStore(), cleanup: async () => {} }),
 * });
 */
export function describeWebhookStore(
  test: ConformanceTestApi,
  options: WebhookStoreSuiteOptions,
): void {
  const { describe, it, afterEach } = test;
  describe(`WebhookStore conformance: ${options.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    const open = async (): Promise<WebhookStore | undefined> => {
      const created = await options.createStore();
      if (!created) return undefined;
      if (created.cleanup) cleanups.push(created.cleanup);
      return created.store;
    };

    const now = Date.parse('2026-03-01T00:00:00.000Z');
    let sequence = 0;
    const endpoint = (
      tenantId: string,
      overrides: Partial<StoredEndpoint> = {},
    ): StoredEndpoint => {
      sequence += 1;
      return {
        id: `ep_suite${sequence}`,
        tenantId,
        url: `https://hooks.example.com/${sequence}`,
        description: '',
        events: ['*'],
        headers: { authorization: 'Bearer s3cret' },
        rateLimitPerSecond: null,
        maxConcurrency: 10,
        secrets: [{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
        createdAt: now + sequence,
        updatedAt: now + sequence,
        enabled: true,
        consecutiveFailures: 0,
        ...overrides,
      };
    };
    const message = (tenantId: string, id = `msg_suite${++sequence}`): WebhookMessage => ({
      id,
      tenantId,
      eventId: `event-${id}`,
      eventType: 'call.ended',
      body: '{"type":"call.ended"}',
      createdAt: now,
    });
    const attempt = (
      target: StoredEndpoint,
      messageId: string,
      status: 'succeeded' | 'failed',
      startedAt: number,
    ): WebhookAttempt => ({
      id: `att_${String(startedAt).padStart(15, '0')}${String(++sequence).padStart(6, '0')}`,
      tenantId: target.tenantId,
      endpointId: target.id,
      messageId,
      eventType: 'call.ended',
      url: target.url,
      attempt: 1,
      trigger: 'event',
      status,
      statusCode: status === 'succeeded' ? 200 : 500,
      durationMs: 5,
      responseBody: '',
      ...(status === 'failed' ? { error: 'HTTP 500' } : {}),
      startedAt,
    });
    const record = (
      store: WebhookStore,
      row: WebhookAttempt,
      extra: Partial<RecordAttemptInput> = {},
    ) =>
      store.recordAttempt({
        attempt: row,
        delivery: {
          status: row.status === 'succeeded' ? 'succeeded' : 'failed',
          attempts: 1,
          lastStatusCode: row.statusCode,
          ...(row.error ? { lastError: row.error } : {}),
          updatedAt: row.startedAt,
        },
        health: { succeeded: row.status === 'succeeded', minFailures: 1, message: 'failing' },
        retentionMs: 14 * day,
        maxAttemptsPerEndpoint: 100,
        now: row.startedAt,
        ...extra,
      });

    it('creates, reads, lists, changes and deletes endpoints, per tenant', async () => {
      const store = await open();
      if (!store) return;
      const first = endpoint('acme');
      const second = endpoint('acme');
      await store.createEndpoint(first, 10);
      await store.createEndpoint(second, 10);
      await store.createEndpoint(endpoint('globex'), 10);
      assert.deepEqual(await store.getEndpoint('acme', first.id), first);
      assert.equal(await store.getEndpoint('globex', first.id), undefined);
      assert.deepEqual(
        (await store.listEndpoints('acme')).map((e) => e.id),
        [first.id, second.id],
      );
      assert.deepEqual((await store.listTenants()).sort(), ['acme', 'globex']);

      const { tenantId, id, url, headers, rateLimitPerSecond, secrets } = first;
      assert.equal(
        await store.saveEndpointSettings({
          tenantId,
          id,
          url,
          description: 'CRM',
          events: ['call.*'],
          headers,
          rateLimitPerSecond,
          maxConcurrency: 3,
          secrets: [{ secret: 'whsec_new' }, { secret: secrets[0]!.secret, expiresAt: now + day }],
          updatedAt: now + 100,
        }),
        true,
      );
      assertIncludes(await store.getEndpoint('acme', first.id), {
        url,
        description: 'CRM',
        events: ['call.*'],
        maxConcurrency: 3,
        updatedAt: now + 100,
        createdAt: first.createdAt,
        secrets: [{ secret: 'whsec_new' }, { secret: secrets[0]!.secret, expiresAt: now + day }],
      });
      assert.equal(await store.saveEndpointSettings({ ...first, tenantId: 'globex' }), false);

      assert.equal(await store.setEndpointEnabled('acme', first.id, false, now + 200), true);
      assertIncludes(await store.getEndpoint('acme', first.id), {
        enabled: false,
        disabledReason: 'manual',
        disabledAt: now + 200,
      });
      assert.equal(await store.setEndpointEnabled('globex', first.id, true, now), false);

      assert.equal(await store.deleteEndpoint('globex', first.id), false);
      assert.equal(await store.deleteEndpoint('acme', first.id), true);
      assert.equal(await store.deleteEndpoint('acme', second.id), true);
      assert.deepEqual(await store.listEndpoints('acme'), []);
      assert.deepEqual(await store.listTenants(), ['globex']);
    });

    it('writes settings only over the ones the writer read, when it says which', async () => {
      const store = await open();
      if (!store) return;
      const stored = endpoint('acme');
      await store.createEndpoint(stored, 10);
      const read = (await store.getEndpoint('acme', stored.id))!;
      const { tenantId, id, url, events, headers, rateLimitPerSecond, maxConcurrency } = read;
      const settingsOf = (endpoint: StoredEndpoint) => ({
        tenantId,
        id,
        url,
        description: endpoint.description,
        events,
        headers,
        rateLimitPerSecond,
        maxConcurrency,
        secrets: endpoint.secrets,
        updatedAt: endpoint.updatedAt,
      });
      // Another writer rotates the secret first.
      const rotated = { ...read, secrets: [{ secret: 'whsec_rotated' }], updatedAt: now + 10 };
      assert.equal(await store.saveEndpointSettings(settingsOf(rotated), settingsOf(read)), true);
      // This one read before the rotation: refused, and nothing changes.
      const described = { ...read, description: 'CRM', updatedAt: now + 20 };
      assert.equal(
        await store.saveEndpointSettings(settingsOf(described), settingsOf(read)),
        false,
      );
      assertIncludes(await store.getEndpoint('acme', stored.id), {
        description: '',
        secrets: [{ secret: 'whsec_rotated' }],
      });
      // Read again, it goes through (a state change in between does not count).
      await store.setEndpointEnabled('acme', stored.id, false, now + 30);
      const again = (await store.getEndpoint('acme', stored.id))!;
      const retried = { ...again, description: 'CRM', updatedAt: now + 40 };
      assert.equal(await store.saveEndpointSettings(settingsOf(retried), settingsOf(again)), true);
      assertIncludes(await store.getEndpoint('acme', stored.id), {
        description: 'CRM',
        secrets: [{ secret: 'whsec_rotated' }],
      });
      // Without what was read, it writes as before.
      assert.equal(await store.saveEndpointSettings(settingsOf(described)), true);
      assert.equal(
        await store.saveEndpointSettings(
          { ...settingsOf(described), id: 'ep_missing' },
          settingsOf(described),
        ),
        false,
      );
    });

    it('never lets concurrent creations exceed the quota', async () => {
      const store = await open();
      if (!store) return;
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => store.createEndpoint(endpoint('acme'), 3)),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
      for (const result of results.filter((r) => r.status === 'rejected')) {
        assertIncludes((result as PromiseRejectedResult).reason, {
          code: 'endpoint_quota_exceeded',
          status: 409,
        });
      }
      assert.equal((await store.listEndpoints('acme')).length, 3);
    });

    it('creates each delivery once and hands back only those still pending', async () => {
      const store = await open();
      if (!store) return;
      const a = endpoint('acme');
      const b = endpoint('acme');
      await store.createEndpoint(a, 10);
      await store.createEndpoint(b, 10);
      const msg = message('acme');
      const pending = async (body = msg.body) => {
        const created = await store.createDeliveries({ ...msg, body }, [a.id, b.id], day);
        assert.deepEqual(created.leased, []);
        return created.pending.sort();
      };
      assert.deepEqual(await pending(), [a.id, b.id].sort());
      // Another process fans the same event out: the first write wins, pending ones come back.
      assert.deepEqual(await pending('other'), [a.id, b.id].sort());
      assert.equal((await store.getMessage('acme', msg.id))?.body, msg.body);
      assert.equal(await store.getMessage('globex', msg.id), undefined);
      await record(store, attempt(a, msg.id, 'succeeded', now));
      assert.deepEqual(await pending(), [b.id]);
      assertIncludes(await store.getDelivery('acme', a.id, msg.id), {
        status: 'succeeded',
        attempts: 1,
        lastStatusCode: 200,
      });
      assertIncludes(await store.getDelivery('acme', b.id, msg.id), {
        status: 'pending',
        attempts: 0,
        eventType: 'call.ended',
      });
      assert.equal(await store.getDelivery('globex', b.id, msg.id), undefined);
    });

    it('leases new deliveries for a direct first attempt, until finished or queued', async () => {
      const store = await open();
      if (!store) return;
      const [a, b, c] = [endpoint('acme'), endpoint('acme'), endpoint('acme')];
      for (const target of [a, b, c]) await store.createEndpoint(target, 10);
      const msg = message('acme');
      const ids = [a.id, b.id, c.id];
      const lease = { count: 2, ms: 60_000 };
      const first = await store.createDeliveries(msg, ids, day, lease);
      assert.deepEqual(first.leased.sort(), [a.id, b.id].sort());
      assert.deepEqual(first.pending, [c.id]);
      // Another process fans the same event out: it creates nothing, so it leases nothing, and a
      // leased delivery is left to its holder (queueing it would send it twice).
      const again = async () => {
        const created = await store.createDeliveries(msg, ids, day, lease);
        assert.deepEqual(created.leased, []);
        return created.pending.sort();
      };
      assert.deepEqual(await again(), [c.id]);
      // The direct attempt succeeded: finished, in neither list.
      await record(store, attempt(a, msg.id, 'succeeded', now));
      // The direct attempt failed and will be retried: still leased until its job is queued.
      await record(store, attempt(b, msg.id, 'failed', now), {
        delivery: { status: 'pending', attempts: 1, nextAttemptAt: now + 60_000, updatedAt: now },
      });
      assert.deepEqual(await again(), [c.id]);
      await store.enqueue([
        {
          id: `${b.id}_${msg.id}`,
          tenantId: 'acme',
          endpointId: b.id,
          messageId: msg.id,
          trigger: 'event',
        },
      ]);
      assert.deepEqual(await again(), [b.id, c.id].sort());
      assertIncludes(await store.getDelivery('acme', a.id, msg.id), { status: 'succeeded' });
    });

    it('keeps a log per endpoint, newest first, paged by time and trimmed by count', async () => {
      const store = await open();
      if (!store) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [target.id], day);
      for (let index = 0; index < 5; index += 1) {
        await record(
          store,
          attempt(target, msg.id, index % 2 === 0 ? 'failed' : 'succeeded', now + index * 1000),
          {
            maxAttemptsPerEndpoint: 4,
          },
        );
      }
      const log = await store.listAttempts('acme', target.id, { limit: 10 });
      assert.deepEqual(
        log.map((row) => row.startedAt),
        [4, 3, 2, 1].map((n) => now + n * 1000),
      );
      assertIncludes(log[0], {
        status: 'failed',
        statusCode: 500,
        error: 'HTTP 500',
        messageId: msg.id,
      });
      const page = await store.listAttempts('acme', target.id, { limit: 2, before: now + 3000 });
      assert.deepEqual(
        page.map((row) => row.startedAt),
        [now + 2000, now + 1000],
      );
      const since = await store.listAttempts('acme', target.id, { limit: 10, since: now + 3000 });
      assert.equal(since.length, 2);
      assert.deepEqual(await store.listAttempts('globex', target.id, { limit: 10 }), []);
    });

    it("keeps an endpoint's newest test-send rows within their own bound", async () => {
      const store = await open();
      if (!store) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [target.id], day);
      for (let index = 0; index < 7; index += 1) {
        const row = attempt(target, msg.id, 'failed', now + index * 1000);
        const test = index % 2 === 1 || index === 6;
        await store.recordAttempt({
          attempt: test ? { ...row, trigger: 'test', messageId: `msg_test${index}` } : row,
          retentionMs: 14 * day,
          maxAttemptsPerEndpoint: 100,
          maxTestAttemptsPerEndpoint: 2,
          now: row.startedAt,
        });
      }
      const log = await store.listAttempts('acme', target.id, { limit: 10 });
      // Tests at 1, 3, 5 and 6 s: the two newest stay; every delivery's row stays.
      assert.deepEqual(
        log.map((row) => [row.trigger, row.startedAt - now]),
        [
          ['test', 6000],
          ['test', 5000],
          ['event', 4000],
          ['event', 2000],
          ['event', 0],
        ],
      );
    });

    it('drops the oldest test row, not a delivery row, when a test send comes to a full log', async () => {
      const store = await open();
      if (!store) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [target.id], day);
      // Three deliveries' rows and two test rows fill a log of 5; then a third test send.
      for (let index = 0; index < 6; index += 1) {
        const row = attempt(target, msg.id, 'failed', now + index * 1000);
        await store.recordAttempt({
          attempt: index < 3 ? row : { ...row, trigger: 'test', messageId: `msg_test${index}` },
          retentionMs: 14 * day,
          maxAttemptsPerEndpoint: 5,
          maxTestAttemptsPerEndpoint: 2,
          now: row.startedAt,
        });
      }
      const log = await store.listAttempts('acme', target.id, { limit: 10 });
      assert.deepEqual(
        log.map((row) => [row.trigger, row.startedAt - now]),
        [
          ['test', 5000],
          ['test', 4000],
          ['event', 2000],
          ['event', 1000],
          ['event', 0],
        ],
      );
    });

    it('lists exhausted deliveries as dead letters until a later success', async () => {
      const store = await open();
      if (!store) return;
      const a = endpoint('acme');
      const b = endpoint('acme');
      await store.createEndpoint(a, 10);
      await store.createEndpoint(b, 10);
      const first = message('acme');
      const second = message('acme');
      await store.createDeliveries(first, [a.id, b.id], day);
      await store.createDeliveries(second, [a.id], day);
      await record(store, attempt(a, first.id, 'failed', now + 1));
      await record(store, attempt(b, first.id, 'failed', now + 2));
      await record(store, attempt(a, second.id, 'failed', now + 3));
      const all = await store.listFailedDeliveries('acme', { limit: 10 });
      assert.deepEqual(
        all.map((d) => [d.endpointId, d.messageId]),
        [
          [a.id, second.id],
          [b.id, first.id],
          [a.id, first.id],
        ],
      );
      assertIncludes(all[0], { status: 'failed', lastError: 'HTTP 500', updatedAt: now + 3 });
      const ofA = await store.listFailedDeliveries('acme', { limit: 10, endpointId: a.id });
      assert.deepEqual(
        ofA.map((d) => d.messageId),
        [second.id, first.id],
      );
      assert.equal(
        (await store.listFailedDeliveries('acme', { limit: 10, endpointId: a.id, since: now + 2 }))
          .length,
        1,
      );
      assertIncludes(await store.listFailedDeliveries('acme', { limit: 1, before: now + 3 }), [
        { endpointId: b.id },
      ]);
      assert.deepEqual(await store.listFailedDeliveries('globex', { limit: 10 }), []);
      await record(store, attempt(a, first.id, 'succeeded', now + 4));
      assert.deepEqual(
        (await store.listFailedDeliveries('acme', { limit: 10, endpointId: a.id })).map(
          (d) => d.messageId,
        ),
        [second.id],
      );
      // A success without `lastError` keeps the one before: what the delivery got past.
      assertIncludes(await store.getDelivery('acme', a.id, first.id), {
        status: 'succeeded',
        lastStatusCode: 200,
        lastError: 'HTTP 500',
      });
      await store.deleteEndpoint('acme', a.id);
      assert.deepEqual(
        (await store.listFailedDeliveries('acme', { limit: 10 })).map((d) => d.endpointId),
        [b.id],
      );
    });

    it('keeps no dead letter of a message that is gone (expired): nothing could resend it', async () => {
      const store = await open();
      if (!store) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const kept = message('acme');
      await store.createDeliveries(kept, [target.id], day);
      // Never stored, as a message that expired before its delivery's last attempt was recorded.
      const lost = message('acme');
      await record(store, attempt(target, lost.id, 'failed', now + 1));
      await record(store, attempt(target, kept.id, 'failed', now + 2));
      assertIncludes(await store.listFailedDeliveries('acme', { limit: 10 }), [
        { messageId: kept.id },
      ]);
      assert.equal(await store.getDelivery('acme', target.id, lost.id), undefined);
      // The attempt was made: its log row stays.
      assertIncludes(
        (await store.listAttempts('acme', target.id, { limit: 10 })).map((row) => row.messageId),
        [kept.id, lost.id],
      );
    });

    it('keeps nothing of an attempt whose endpoint was deleted while it was in flight', async () => {
      const store = await open();
      if (!store) return;
      const deleted = endpoint('acme');
      const other = endpoint('acme');
      await store.createEndpoint(deleted, 10);
      await store.createEndpoint(other, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [deleted.id, other.id], day);
      const job = deliveryJob(deleted.id, msg.id, `${deleted.id}_${msg.id}`);
      assert.equal((await store.beginAttempt(job, { now, leaseMs: 60_000 })).slotWait, 0);
      assert.equal(await store.deleteEndpoint('acme', deleted.id), true);
      await record(store, attempt(deleted, msg.id, 'failed', now + 1), { releaseSlot: job.id });
      // A test send that ended after the delete, too.
      await store.recordAttempt({
        attempt: { ...attempt(deleted, 'msg_test_suite', 'failed', now + 2), trigger: 'test' },
        releaseSlot: 'test_msg_test_suite',
        retentionMs: 14 * day,
        maxAttemptsPerEndpoint: 100,
        maxTestAttemptsPerEndpoint: 100,
        now: now + 2,
      });
      assert.deepEqual(await store.listFailedDeliveries('acme', { limit: 10 }), []);
      assert.deepEqual(
        await store.listFailedDeliveries('acme', { limit: 10, endpointId: deleted.id }),
        [],
      );
      assert.deepEqual(await store.listAttempts('acme', deleted.id, { limit: 10 }), []);
      assert.equal(await store.getDelivery('acme', deleted.id, msg.id), undefined);
      assert.equal(await store.getEndpoint('acme', deleted.id), undefined);
      // The message's other deliveries are not touched.
      await record(store, attempt(other, msg.id, 'failed', now + 3));
      assertIncludes(await store.listFailedDeliveries('acme', { limit: 10 }), [
        { endpointId: other.id, messageId: msg.id },
      ]);
    });

    it('drops at its attempt a delivery made after its endpoint was deleted (a fan-out from a cached endpoint list)', async () => {
      const store = await open();
      if (!store) return;
      const deleted = endpoint('acme');
      const other = endpoint('acme');
      await store.createEndpoint(deleted, 10);
      await store.createEndpoint(other, 10);
      assert.equal(await store.deleteEndpoint('acme', deleted.id), true);
      // Another process's fan-out read the endpoint list before the delete: one delivery leased
      // for a direct first attempt, one queued.
      const [leased, queued] = [message('acme'), message('acme')] as const;
      await store.createDeliveries(leased, [deleted.id, other.id], day, { count: 2, ms: 60_000 });
      await store.createDeliveries(queued, [deleted.id, other.id], day);
      for (const msg of [leased, queued]) {
        assert.notEqual(await store.getDelivery('acme', deleted.id, msg.id), undefined, msg.id);
        const job = deliveryJob(deleted.id, msg.id, `${deleted.id}_${msg.id}`);
        const start = await store.beginAttempt(job, { now, leaseMs: 60_000 });
        assert.equal(start.endpoint, undefined, msg.id);
        assert.equal(start.slotWait, undefined, msg.id);
        // Gone now, not kept until its message expires; the message and the other endpoint's
        // delivery of it stay.
        assert.equal(await store.getDelivery('acme', deleted.id, msg.id), undefined, msg.id);
        assert.notEqual(await store.getMessage('acme', msg.id), undefined, msg.id);
        assertIncludes(await store.getDelivery('acme', other.id, msg.id), { status: 'pending' });
      }
    });

    it("deletes an endpoint's deliveries with it (pending, leased, delivered, dead), and no other endpoint's", async () => {
      const store = await open();
      if (!store) return;
      const deleted = endpoint('acme');
      const other = endpoint('acme');
      await store.createEndpoint(deleted, 10);
      await store.createEndpoint(other, 10);
      const messages = [message('acme'), message('acme'), message('acme'), message('acme')];
      const [pending, leased, delivered, dead] = messages as [
        WebhookMessage,
        WebhookMessage,
        WebhookMessage,
        WebhookMessage,
      ];
      for (const msg of [pending, delivered, dead]) {
        await store.createDeliveries(msg, [deleted.id, other.id], day);
      }
      await store.createDeliveries(leased, [deleted.id, other.id], day, { count: 2, ms: 60_000 });
      await record(store, attempt(deleted, delivered.id, 'succeeded', now + 1));
      await record(store, attempt(deleted, dead.id, 'failed', now + 2));
      await record(store, attempt(other, dead.id, 'failed', now + 3));
      for (const msg of messages) {
        assert.notEqual(await store.getDelivery('acme', deleted.id, msg.id), undefined, msg.id);
      }
      assert.equal(await store.deleteEndpoint('acme', deleted.id), true);
      for (const msg of messages) {
        assert.equal(await store.getDelivery('acme', deleted.id, msg.id), undefined, msg.id);
        // The messages and the other endpoint's deliveries of them stay.
        assert.notEqual(await store.getMessage('acme', msg.id), undefined, msg.id);
        assert.notEqual(await store.getDelivery('acme', other.id, msg.id), undefined, msg.id);
      }
      assert.deepEqual(await store.listAttempts('acme', deleted.id, { limit: 10 }), []);
      assertIncludes(await store.listFailedDeliveries('acme', { limit: 10 }), [
        { endpointId: other.id, messageId: dead.id },
      ]);
      // Created again with the same id, the endpoint starts with none of them.
      await store.createEndpoint(deleted, 10);
      for (const msg of messages) {
        assert.equal(await store.getDelivery('acme', deleted.id, msg.id), undefined, msg.id);
      }
    });

    it('claims the recovery of each dead letter once at its attempts (a store may leave claimRecoveries out)', async () => {
      const store = await open();
      if (!store?.claimRecoveries) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const [first, second] = [message('acme'), message('acme')] as const;
      for (const msg of [first, second]) {
        await store.createDeliveries(msg, [target.id], day);
        await record(store, attempt(target, msg.id, 'failed', now + 1));
      }
      const listed = [first, second].map((msg) => ({ messageId: msg.id, attempts: 1 }));
      // Two calls at once: each dead letter is claimed by one of them.
      const claims = await Promise.all([
        store.claimRecoveries('acme', target.id, listed),
        store.claimRecoveries('acme', target.id, listed),
      ]);
      assert.deepEqual([...claims[0]!, ...claims[1]!].sort(), [first.id, second.id].sort());
      assert.deepEqual(await store.claimRecoveries('acme', target.id, listed), []);
      // Its recovery failed: the dead letter, one attempt older, is claimed again; a call that
      // listed it before (one attempt) claims nothing.
      await store.recordAttempt({
        attempt: { ...attempt(target, first.id, 'failed', now + 2), trigger: 'recover' },
        delivery: { status: 'failed', attempts: 2, lastStatusCode: 500, updatedAt: now + 2 },
        retentionMs: 14 * day,
        maxAttemptsPerEndpoint: 100,
        now: now + 2,
      });
      assert.deepEqual(await store.claimRecoveries('acme', target.id, listed), []);
      assert.deepEqual(
        await store.claimRecoveries('acme', target.id, [{ messageId: first.id, attempts: 2 }]),
        [first.id],
      );
      // Not another endpoint's, not another tenant's, not a delivery that is not there.
      assert.deepEqual(
        await store.claimRecoveries('globex', target.id, [{ messageId: second.id, attempts: 9 }]),
        [],
      );
      assert.deepEqual(
        await store.claimRecoveries('acme', target.id, [{ messageId: 'msg_none', attempts: 1 }]),
        [],
      );
      assert.equal(await store.getDelivery('acme', target.id, 'msg_none'), undefined);
      // The claim is not part of the delivery as read.
      assert.deepEqual(
        Object.keys((await store.getDelivery('acme', target.id, first.id))!).sort(),
        [
          'attempts',
          'createdAt',
          'endpointId',
          'eventType',
          'lastError',
          'lastStatusCode',
          'messageId',
          'status',
          'tenantId',
          'updatedAt',
        ],
      );
    });

    it('does not claim a recovery dropped on the disabled endpoint before the claim, until it is queued again', async () => {
      const store = await open();
      if (!store?.claimRecoveries) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [target.id], day);
      await record(store, attempt(target, msg.id, 'failed', now + 1));
      const listed = [{ messageId: msg.id, attempts: 1 }];
      const recovery = recoveryDeliveryJob('acme', target.id, msg.id, 1);
      // Queued by a recover, then the endpoint is disabled and the job dropped before the
      // claim of the call that queued it: nothing sends it, so nothing is claimed.
      await store.enqueue([recovery]);
      await store.setEndpointEnabled('acme', target.id, false, now + 2);
      assert.equal(
        (await store.beginAttempt(recovery, { now, leaseMs: 60_000 })).slotWait,
        undefined,
      );
      assert.deepEqual(await store.claimRecoveries('acme', target.id, listed), []);
      // Enabled and queued again, it is claimed, once.
      await store.setEndpointEnabled('acme', target.id, true, now + 3);
      await store.enqueue([recovery]);
      assert.deepEqual(await store.claimRecoveries('acme', target.id, listed), [msg.id]);
      assert.deepEqual(await store.claimRecoveries('acme', target.id, listed), []);
      // Dropped after its claim, the claim ends with it; queued again, it is claimed again.
      await store.setEndpointEnabled('acme', target.id, false, now + 4);
      await store.beginAttempt(recovery, { now, leaseMs: 60_000 });
      assert.deepEqual(await store.claimRecoveries('acme', target.id, listed), []);
      await store.setEndpointEnabled('acme', target.id, true, now + 5);
      await store.enqueue([recovery]);
      assert.deepEqual(await store.claimRecoveries('acme', target.id, listed), [msg.id]);
    });

    it('keeps dead letters for the retention on the clock it is given, far ahead of its own or far behind', async () => {
      const store = await open();
      if (!store) return;
      for (const at of [Date.now() + 400 * day, Date.now() - 400 * day]) {
        const target = endpoint('acme');
        await store.createEndpoint(target, 10);
        const msg = { ...message('acme'), createdAt: at };
        await store.createDeliveries(msg, [target.id], day);
        await record(store, attempt(target, msg.id, 'failed', at + 1), {
          retentionMs: day,
          now: at + 1,
        });
        // Listed while the clock is within a day (the retention) of the message, not after.
        const listedAt = async (time: number): Promise<string[]> =>
          (
            await store.listFailedDeliveries('acme', {
              endpointId: target.id,
              messagesSince: time - day,
              limit: 10,
            })
          ).map((delivery) => delivery.messageId);
        assert.deepEqual(await listedAt(at + 1), [msg.id]);
        assert.deepEqual(await listedAt(at + day), [msg.id]);
        assert.deepEqual(await listedAt(at + day + 1), []);
        // An attempt recorded past it (a recovery in flight then) deletes the delivery instead
        // of writing it: no dead letter is left that nothing could resend.
        await store.createDeliveries(msg, [target.id], day);
        await record(store, attempt(target, msg.id, 'failed', at + day + 1), {
          retentionMs: day,
          now: at + day + 1,
        });
        assert.equal(await store.getDelivery('acme', target.id, msg.id), undefined);
      }
    });

    it('pages through more items than a page at one time, each exactly once, newest first', async () => {
      const store = await open();
      if (!store) return;
      const a = endpoint('acme');
      const b = endpoint('acme');
      await store.createEndpoint(a, 10);
      await store.createEndpoint(b, 10);
      // 600 deliveries given up in one millisecond (a disabled endpoint gives up its backlog at
      // once), and a few in the milliseconds either side; each gives up with one log row.
      const at = now + 5000;
      const rows: WebhookAttempt[] = [];
      for (let index = 0; index < 306; index += 1) {
        const msg = message('acme');
        await store.createDeliveries(msg, [a.id, b.id], day);
        const time = index < 3 ? at + 1 : index < 303 ? at : at - 1;
        for (const target of [a, b]) rows.push(attempt(target, msg.id, 'failed', time));
      }
      // Logged newest first: a row logged after a later one (its attempt took longer) still
      // lists in its place.
      const logged = [...rows].reverse();
      for (let start = 0; start < logged.length; start += 50) {
        await Promise.all(
          logged
            .slice(start, start + 50)
            .map((row) => record(store, row, { maxAttemptsPerEndpoint: 1000 })),
        );
      }

      type Position = [time: number, key: string];
      const newestFirst = (positions: Position[]): Position[] =>
        [...positions].sort((x, y) => (x[0] !== y[0] ? y[0] - x[0] : x[1] < y[1] ? 1 : -1));
      const deliveryOf = (row: WebhookAttempt): Position => [
        row.startedAt,
        `${row.endpointId}:${row.messageId}`,
      ];
      const pageSize = 7;
      /** Every page from `first` on, each from the last item of the one before. */
      const pageAll = async (
        list: (cursor: { before?: number; beforeKey?: string }) => Promise<Position[]>,
        first: { before?: number; beforeKey?: string } = {},
      ): Promise<Position[]> => {
        const seen: Position[] = [];
        let cursor = first;
        for (let pages = 0; pages < 200; pages += 1) {
          const page = await list(cursor);
          seen.push(...page);
          if (page.length < pageSize) return seen;
          const [before, beforeKey] = page[page.length - 1]!;
          cursor = { before, beforeKey };
        }
        assert.fail('the pages never end');
      };
      const failed = (query: { endpointId?: string; since?: number }) => (cursor: object) =>
        store
          .listFailedDeliveries('acme', { ...query, ...cursor, limit: pageSize })
          .then((page) =>
            page.map((d): Position => [d.updatedAt, `${d.endpointId}:${d.messageId}`]),
          );

      assert.deepEqual(await pageAll(failed({})), newestFirst(rows.map(deliveryOf)));
      const ofA = newestFirst(rows.filter((row) => row.endpointId === a.id).map(deliveryOf));
      assert.deepEqual(await pageAll(failed({ endpointId: a.id })), ofA);
      assert.deepEqual(
        await pageAll(failed({ since: at })),
        newestFirst(rows.filter((row) => row.startedAt >= at).map(deliveryOf)),
      );
      assert.deepEqual(
        await pageAll((cursor) =>
          store
            .listAttempts('acme', b.id, { ...cursor, limit: pageSize })
            .then((page) => page.map((row): Position => [row.startedAt, row.id])),
        ),
        newestFirst(
          rows.filter((row) => row.endpointId === b.id).map((row) => [row.startedAt, row.id]),
        ),
      );

      // The item a page ended on leaves the list (delivered after all): the next page still
      // starts right after where it was.
      const firstPage = await failed({ endpointId: a.id })({ before: at + 1 });
      const [endedAt, endedOn] = firstPage[pageSize - 1]!;
      const gone = rows.find((row) => deliveryOf(row)[1] === endedOn)!;
      await record(store, attempt(a, gone.messageId, 'succeeded', at + 2));
      const rest = await pageAll(failed({ endpointId: a.id }), {
        before: endedAt,
        beforeKey: endedOn,
      });
      assert.deepEqual(
        [...firstPage, ...rest],
        ofA.filter(([time]) => time < at + 1),
      );
    });

    it('records a delivery given up without a request (no status code, no health)', async () => {
      const store = await open();
      if (!store) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const sent = message('acme');
      await store.createDeliveries(sent, [target.id], day);
      const row: WebhookAttempt = {
        ...attempt(target, sent.id, 'failed', now + 1),
        attempt: 0,
        statusCode: 0,
        error: 'Not sent: the endpoint is disabled.',
      };
      await store.recordAttempt({
        attempt: row,
        delivery: {
          status: 'failed',
          attempts: 0,
          lastError: 'Not sent: the endpoint is disabled.',
          updatedAt: now + 1,
        },
        retentionMs: 14 * day,
        maxAttemptsPerEndpoint: 100,
        now: now + 1,
      });
      assertIncludes(await store.getDelivery('acme', target.id, sent.id), {
        status: 'failed',
        attempts: 0,
        lastError: 'Not sent: the endpoint is disabled.',
        updatedAt: now + 1,
      });
      assertIncludes(await store.listFailedDeliveries('acme', { limit: 10 }), [
        { endpointId: target.id, messageId: sent.id },
      ]);
      assertIncludes(await store.listAttempts('acme', target.id, { limit: 10 }), [
        { id: row.id, error: 'Not sent: the endpoint is disabled.' },
      ]);
      assertIncludes(await store.getEndpoint('acme', target.id), { consecutiveFailures: 0 });
    });

    it('runs the failure clock and disables an endpoint exactly once', async () => {
      const store = await open();
      if (!store) return;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [target.id], day);
      const health = { failureWindowMs: 10_000, minFailures: 3, message: 'failing for long' };
      const fail = (at: number) =>
        record(store, attempt(target, msg.id, 'failed', at), {
          health: { succeeded: false, ...health },
        });
      assert.deepEqual(await fail(now), {});
      assert.deepEqual(await fail(now + 20_000), {}); // long enough, but only 2 failures
      assertIncludes(await store.getEndpoint('acme', target.id), {
        enabled: true,
        failingSince: now,
        consecutiveFailures: 2,
      });
      await record(store, attempt(target, msg.id, 'succeeded', now + 21_000), {
        health: { succeeded: true, ...health },
      });
      const healed = await store.getEndpoint('acme', target.id);
      assert.equal(healed?.failingSince, undefined);
      assert.equal(healed?.consecutiveFailures, 0);
      await fail(now + 30_000);
      await fail(now + 35_000);
      assert.deepEqual(await fail(now + 39_999), {});
      const results = await Promise.all([
        fail(now + 40_000),
        fail(now + 40_001),
        fail(now + 40_002),
      ]);
      const flips = results.filter((result) => result.disabled);
      assert.deepEqual(flips, [
        {
          disabled: { reason: 'failing', message: 'failing for long', failingSince: now + 30_000 },
        },
      ]);
      assertIncludes(await store.getEndpoint('acme', target.id), {
        enabled: false,
        disabledReason: 'failing',
        disabledMessage: 'failing for long',
      });
      // Re-enabling clears the state and the clock.
      await store.setEndpointEnabled('acme', target.id, true, now + 50_000);
      const enabled = await store.getEndpoint('acme', target.id);
      assertIncludes(enabled, { enabled: true, consecutiveFailures: 0 });
      assert.equal(enabled?.disabledAt, undefined);
      assert.equal(enabled?.failingSince, undefined);
      // A 410 disables at once.
      const gone = await record(store, attempt(target, msg.id, 'failed', now + 60_000), {
        health: { succeeded: false, disable: 'gone', minFailures: 5, message: 'gone' },
      });
      assert.equal(gone.disabled?.reason, 'gone');
    });

    // Not asked of a store: running a deferred job again at once when what it waits for is
    // released in the same process. The built-in stores do (their own tests check it); a store
    // without it is correct, its waiting jobs run when their deferral (about a second) is over.
    it('runs queued jobs once per id, at the clock time they ask for, within the concurrency', async () => {
      const store = await open();
      if (!store) return;
      const clock = createTestClock(now);
      const runs: string[] = [];
      let running = 0;
      let peak = 0;
      const outcomes = new Map<string, DeliveryJobOutcome[]>([
        ['retry', [{ type: 'retry', at: now + 60_000 }]],
        ['defer', [{ type: 'defer', ms: 5 }]],
      ]);
      store.startWorker(
        async (job) => {
          running += 1;
          peak = Math.max(peak, running);
          runs.push(job.id);
          await new Promise((resolve) => setTimeout(resolve, 20));
          running -= 1;
          return outcomes.get(job.id)?.shift() ?? { type: 'done' };
        },
        { concurrency: 2, clock },
      );
      const job = (id: string) => deliveryJob('ep_1', 'msg_1', id);
      await store.enqueue([job('retry'), job('defer'), job('a'), job('b'), job('c')]);
      await store.enqueue([job('a')]);
      const until = async (check: () => boolean) => {
        for (let tries = 0; tries < 500 && !check(); tries += 1)
          await new Promise((r) => setTimeout(r, 10));
        assert.equal(check(), true);
      };
      const count = (id: string) => runs.filter((run) => run === id).length;
      await until(
        () => count('defer') === 2 && count('a') === 1 && count('b') === 1 && count('c') === 1,
      );
      assert.equal(count('retry'), 1);
      assert.ok(peak <= 2);
      clock.advance(60_000);
      await until(() => count('retry') === 2);
      await store.stopWorker();
      assert.equal(runs.length, 7);
    });

    it('skips a job whose id is queued or running, and takes the id again once it is done', async () => {
      const store = await open();
      if (!store) return;
      const clock = createTestClock(now);
      const runs: string[] = [];
      let finish: (() => void) | undefined;
      store.startWorker(
        async (job) => {
          runs.push(job.trigger);
          await new Promise<void>((resolve) => {
            finish = resolve;
          });
          finish = undefined;
          return { type: 'done' };
        },
        { concurrency: 4, clock },
      );
      const job = (trigger: DeliveryJob['trigger']): DeliveryJob => ({
        id: 'ep_1_msg_1_recover_8', // what recover queues for one dead letter, every time
        tenantId: 'acme',
        endpointId: 'ep_1',
        messageId: 'msg_1',
        trigger,
      });
      const until = async (check: () => boolean) => {
        for (let tries = 0; tries < 500 && !check(); tries += 1)
          await new Promise((r) => setTimeout(r, 10));
        assert.equal(check(), true);
      };
      await store.enqueue([job('recover')]);
      await until(() => finish !== undefined);
      await store.enqueue([job('recover')]); // running: skipped
      finish!();
      await until(() => finish === undefined);
      // Done: the id is free, and the job runs again.
      for (let tries = 0; tries < 50 && runs.length < 2; tries += 1) {
        await store.enqueue([job('resend')]);
        await new Promise((r) => setTimeout(r, 20));
      }
      await until(() => finish !== undefined);
      finish!();
      await store.stopWorker();
      assert.deepEqual(runs, ['recover', 'resend']);
    });

    it('begins an attempt in one step: reads, and the slot only when the job can send now', async () => {
      const store = await open();
      if (!store) return;
      const target = endpoint('acme', { maxConcurrency: 1 });
      await store.createEndpoint(target, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [target.id], 14 * day);
      const job = (id: string, trigger?: DeliveryJob['trigger']) =>
        deliveryJob(target.id, msg.id, id, trigger);
      const lease = { now, leaseMs: 60_000 };
      const first = await store.beginAttempt(job('job1'), lease);
      assertIncludes(first.delivery, { status: 'pending', attempts: 0 });
      assertIncludes(first.endpoint, { id: target.id, maxConcurrency: 1, enabled: true });
      assert.equal(first.message?.body, msg.body);
      assert.equal(first.slotWait, 0);
      // The endpoint's one slot is held: another job waits, the holder may ask again.
      assert.ok(((await store.beginAttempt(job('job2', 'recover'), lease)).slotWait ?? 0) > 0);
      assert.equal((await store.beginAttempt(job('job1'), lease)).slotWait, 0);
      // Recording the attempt frees the slot in the same step.
      await store.recordAttempt({
        attempt: attempt(target, msg.id, 'failed', now),
        releaseSlot: 'job1',
        delivery: {
          status: 'pending',
          attempts: 1,
          nextAttemptAt: now + 5_000,
          lastStatusCode: 500,
          updatedAt: now,
        },
        retentionMs: 14 * day,
        maxAttemptsPerEndpoint: 100,
        now,
      });
      // Not due yet: no slot is asked for an event job; a manual one still gets it.
      const early = await store.beginAttempt(job('job3'), lease);
      assertIncludes(early.delivery, {
        status: 'pending',
        attempts: 1,
        nextAttemptAt: now + 5_000,
      });
      assert.equal(early.slotWait, undefined);
      assert.equal((await store.beginAttempt(job('job3', 'recover'), lease)).slotWait, 0);
      await store.releaseSlot('acme', target.id, 'job3', msg.id);
      assert.equal(
        (await store.beginAttempt(job('job4'), { ...lease, now: now + 5_000 })).slotWait,
        0,
      );
      await store.releaseSlot('acme', target.id, 'job4', msg.id);
      // Disabled endpoint, finished delivery, unknown message or endpoint: read, no slot.
      await store.setEndpointEnabled('acme', target.id, false, now);
      const disabled = await store.beginAttempt(job('job5', 'resend'), lease);
      assertIncludes(disabled.endpoint, { enabled: false });
      assert.equal(disabled.slotWait, undefined);
      await store.setEndpointEnabled('acme', target.id, true, now);
      await record(store, attempt(target, msg.id, 'succeeded', now + 6_000));
      const done = await store.beginAttempt(job('job6'), { ...lease, now: now + 7_000 });
      assertIncludes(done.delivery, { status: 'succeeded' });
      assert.equal(done.slotWait, undefined);
      const missing = await store.beginAttempt(
        { ...job('job7', 'resend'), messageId: 'msg_missing' },
        lease,
      );
      assert.equal(missing.message, undefined);
      assert.equal(missing.delivery, undefined);
      assert.equal(missing.slotWait, undefined);
      const elsewhere = await store.beginAttempt({ ...job('job8'), tenantId: 'globex' }, lease);
      assert.equal(elsewhere.endpoint, undefined);
      assert.equal(elsewhere.message, undefined);
      assert.equal(elsewhere.slotWait, undefined);
    });

    /** A store with one endpoint and one message delivered to it, for the delivery hold's tests. */
    const openDelivery = async () => {
      const store = await open();
      if (!store) return undefined;
      const target = endpoint('acme');
      await store.createEndpoint(target, 10);
      const msg = message('acme');
      await store.createDeliveries(msg, [target.id], day);
      const job = (id: string, trigger?: DeliveryJob['trigger']) =>
        deliveryJob(target.id, msg.id, id, trigger);
      return { store, target, msg, job, lease: { now, leaseMs: 60_000 } };
    };

    it('holds one attempt of a delivery at a time, and a resend until an attempt serves it', async () => {
      const opened = await openDelivery();
      if (!opened) return;
      const { store, target, msg, job, lease } = opened;
      const finish = (
        holder: string,
        status: 'succeeded' | 'failed',
        delivery: NonNullable<RecordAttemptInput['delivery']>,
        servedResend?: string,
      ) =>
        store.recordAttempt({
          attempt: attempt(target, msg.id, status, now),
          releaseSlot: holder,
          delivery,
          ...(servedResend === undefined ? {} : { servedResend }),
          retentionMs: day,
          maxAttemptsPerEndpoint: 100,
          now,
        });
      assert.equal((await store.beginAttempt(job('direct'), lease)).slotWait, 0);
      // Another job of the delivery waits while the attempt is in flight (the endpoint has room);
      // the holder may ask again.
      assert.ok(((await store.beginAttempt(job('queued'), lease)).slotWait ?? 0) > 0);
      assert.ok(((await store.beginAttempt(job('recovery', 'recover'), lease)).slotWait ?? 0) > 0);
      assert.equal((await store.beginAttempt(job('direct'), lease)).slotWait, 0);
      // A resend asked meanwhile (no worker runs here: its job stays queued) marks the delivery.
      await store.enqueue([job('resend1', 'resend')]);
      // The attempt in flight fails: the hold ends with its record, and the resend still waits.
      await finish('direct', 'failed', {
        status: 'pending',
        attempts: 1,
        nextAttemptAt: now + 60_000,
        lastStatusCode: 500,
        updatedAt: now,
      });
      // Not due, but asked to be resent: the delivery's own job serves the resend now.
      const serving = await store.beginAttempt(job('queued'), lease);
      assert.equal(serving.slotWait, 0);
      assert.equal(serving.resend, 'resend1');
      await finish(
        'queued',
        'failed',
        {
          status: 'pending',
          attempts: 2,
          nextAttemptAt: now + 120_000,
          lastStatusCode: 500,
          updatedAt: now,
        },
        'resend1',
      );
      // Served: the resend's own job has nothing to send, and asks for no slot.
      const served = await store.beginAttempt(job('resend1', 'resend'), lease);
      assert.equal(served.slotWait, undefined);
      assert.equal(served.resend, undefined);
      assert.equal((await store.beginAttempt(job('queued'), lease)).slotWait, undefined);
      // A resend asked while an attempt is in flight is answered by that attempt's success.
      assert.equal((await store.beginAttempt(job('recovery', 'recover'), lease)).slotWait, 0);
      await store.enqueue([job('resend2', 'resend')]);
      await finish('recovery', 'succeeded', {
        status: 'succeeded',
        attempts: 3,
        lastStatusCode: 200,
        updatedAt: now,
      });
      assert.equal((await store.beginAttempt(job('resend2', 'resend'), lease)).slotWait, undefined);
      // A resend of the delivered message is one more attempt; a hold whose holder died (it
      // never recorded) runs out, and so does not keep the delivery from being sent.
      await store.enqueue([job('resend3', 'resend')]);
      const dying = await store.beginAttempt(job('dead'), { now, leaseMs: 1 });
      assert.equal(dying.slotWait, undefined); // an event job does not send a delivered message
      assert.equal(
        (await store.beginAttempt(job('dead', 'recover'), { now, leaseMs: 1 })).slotWait,
        0,
      );
      let waited = 0;
      let taken: Awaited<ReturnType<WebhookStore['beginAttempt']>> | undefined;
      for (; waited < 100; waited += 1) {
        taken = await store.beginAttempt(job('resend3', 'resend'), lease);
        if (taken.slotWait === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(waited < 100);
      assert.equal(taken?.resend, 'resend3');
      // Released without a record (not sent after all): the hold ends with the slot.
      await store.releaseSlot('acme', target.id, 'resend3', msg.id);
      assert.equal((await store.beginAttempt(job('recovery', 'recover'), lease)).slotWait, 0);
      // Tenants apart: another tenant's resend job marks nothing here.
      await store.enqueue([{ ...job('resend4', 'resend'), tenantId: 'globex' }]);
      assert.equal(
        (await store.beginAttempt({ ...job('resend4', 'resend'), tenantId: 'globex' }, lease))
          .slotWait,
        undefined,
      );
    });

    it('drops a resend whose endpoint is disabled before an attempt serves it', async () => {
      const opened = await openDelivery();
      if (!opened) return;
      const { store, target, msg, job, lease } = opened;
      const recordFailure = (
        holder: string | undefined,
        delivery: NonNullable<RecordAttemptInput['delivery']>,
      ) =>
        store.recordAttempt({
          attempt: attempt(target, msg.id, 'failed', now),
          ...(holder === undefined ? {} : { releaseSlot: holder }),
          delivery,
          retentionMs: day,
          maxAttemptsPerEndpoint: 100,
          now,
        });
      // The first attempt failed: the delivery is being retried.
      assert.equal((await store.beginAttempt(job('first'), lease)).slotWait, 0);
      await recordFailure('first', {
        status: 'pending',
        attempts: 1,
        nextAttemptAt: now + 60_000,
        lastStatusCode: 500,
        updatedAt: now,
      });
      // A resend is asked, then the endpoint is disabled before any attempt serves it.
      await store.enqueue([job('resend1', 'resend')]);
      await store.setEndpointEnabled('acme', target.id, false, now);
      // The resend's own job finds the endpoint disabled: nothing is sent, nor served.
      const dropped = await store.beginAttempt(job('resend1', 'resend'), lease);
      assert.equal(dropped.slotWait, undefined);
      assert.equal(dropped.resend, undefined);
      // The delivery's own job finds it disabled too, and gives the delivery up.
      const givenUp = await store.beginAttempt(job('first'), { ...lease, now: now + 60_000 });
      assert.equal(givenUp.slotWait, undefined);
      assert.equal(givenUp.resend, undefined);
      await recordFailure(undefined, {
        status: 'failed',
        attempts: 1,
        lastError: 'Not sent: the endpoint is disabled.',
        updatedAt: now,
      });
      // Enabled again, a recovery of the dead letter is the recovery's, not the old resend's.
      await store.setEndpointEnabled('acme', target.id, true, now);
      const recovery = await store.beginAttempt(job('recovery1', 'recover'), lease);
      assert.equal(recovery.slotWait, 0);
      assert.equal(recovery.resend, undefined);
      await recordFailure('recovery1', {
        status: 'failed',
        attempts: 2,
        lastStatusCode: 500,
        updatedAt: now,
      });
      // The resend's job, run again late, has nothing to send.
      assert.equal((await store.beginAttempt(job('resend1', 'resend'), lease)).slotWait, undefined);
      // Whichever job finds the endpoint disabled first drops the resend: here a recovery's.
      await store.enqueue([job('resend2', 'resend')]);
      await store.setEndpointEnabled('acme', target.id, false, now);
      assert.equal(
        (await store.beginAttempt(job('recovery2', 'recover'), lease)).slotWait,
        undefined,
      );
      await store.setEndpointEnabled('acme', target.id, true, now);
      const later = await store.beginAttempt(job('recovery3', 'recover'), lease);
      assert.equal(later.slotWait, 0);
      assert.equal(later.resend, undefined);
      assert.equal((await store.beginAttempt(job('resend2', 'resend'), lease)).slotWait, undefined);
    });

    it('holds per-endpoint concurrency slots and rate limits', async () => {
      const store = await open();
      if (!store) return;
      assert.equal(await store.acquireSlot('acme', 'ep_x', 'job1', 2, 60_000), 0);
      assert.equal(await store.acquireSlot('acme', 'ep_x', 'job2', 2, 60_000), 0);
      assert.equal(await store.acquireSlot('acme', 'ep_x', 'job1', 2, 60_000), 0);
      assert.ok((await store.acquireSlot('acme', 'ep_x', 'job3', 2, 60_000)) > 0);
      assert.equal(await store.acquireSlot('acme', 'ep_y', 'job3', 2, 60_000), 0);
      assert.equal(await store.acquireSlot('globex', 'ep_x', 'job3', 2, 60_000), 0);
      await store.releaseSlot('acme', 'ep_x', 'job1');
      assert.equal(await store.acquireSlot('acme', 'ep_x', 'job3', 2, 60_000), 0);
      // A holder that never releases (a crashed worker) loses its slot when the lease ends.
      assert.equal(await store.acquireSlot('acme', 'ep_z', 'dead', 1, 1), 0);
      let waited = 0;
      while ((await store.acquireSlot('acme', 'ep_z', 'alive', 1, 60_000)) > 0 && waited < 100) {
        waited += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(waited < 100);

      assert.equal(await store.takeRateToken('ep_r', 2, now), 0);
      assert.equal(await store.takeRateToken('ep_r', 2, now), 0);
      assert.equal(await store.takeRateToken('ep_r', 2, now), 500);
      assert.equal(await store.takeRateToken('ep_r', 2, now + 500), 0);
      assert.equal(await store.takeRateToken('ep_r', 2, now + 500), 500);
      assert.equal(await store.takeRateToken('ep_slow', 0.5, now), 0);
      assert.equal(await store.takeRateToken('ep_slow', 0.5, now + 1000), 1000);
      // A burst of its own (a tenant's test sends: 3 a minute, 3 at once), on a key of its own.
      for (let index = 0; index < 3; index += 1) {
        assert.equal(await store.takeRateToken('test:acme', 3 / 60, now, 3), 0);
      }
      assert.equal(await store.takeRateToken('test:acme', 3 / 60, now, 3), 20_000);
      assert.equal(await store.takeRateToken('test:globex', 3 / 60, now, 3), 0);
      assert.equal(await store.takeRateToken('test:acme', 3 / 60, now + 20_000, 3), 0);
    });

    it('saves bus cursors per tenant', async () => {
      const store = await open();
      if (!store) return;
      assert.deepEqual(await store.loadCursors(), {});
      await store.saveCursors({ acme: 'e1:5', globex: 'e2:9' });
      await store.saveCursors({ acme: 'e1:7' });
      assert.deepEqual(await store.loadCursors(), { acme: 'e1:7', globex: 'e2:9' });
      // Optional: one tenant's cursor, without reading the others'.
      if (store.loadCursor) {
        assert.equal(await store.loadCursor('acme'), 'e1:7');
        assert.equal(await store.loadCursor('initech'), undefined);
      }
    });
  });
}

/**
 * Asserts that `actual` has every property of `expected` with a deeply equal value, recursing into
 * objects (arrays must match element by element, with the same length); other properties of
 * `actual` are ignored.
 */
/** A delivery job of tenant `acme` for `endpointId` and `messageId` (an `event` job by default). */
function deliveryJob(
  endpointId: string,
  messageId: string,
  id: string,
  trigger: DeliveryJob['trigger'] = 'event',
): DeliveryJob {
  return { id, tenantId: 'acme', endpointId, messageId, trigger };
}

function assertIncludes(actual: unknown, expected: unknown, path = 'value'): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path} is not an array`);
    assert.equal(actual.length, expected.length, `${path} has ${actual.length} items`);
    for (const [index, item] of expected.entries()) {
      assertIncludes(actual[index], item, `${path}[${index}]`);
    }
  } else if (typeof expected === 'object' && expected !== null) {
    assert.ok(typeof actual === 'object' && actual !== null, `${path} is not an object`);
    for (const [key, value] of Object.entries(expected)) {
      assertIncludes((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
  } else {
    assert.equal(actual, expected, `${path} differs`);
  }
}
