import { afterEach, describe, expect, it } from 'vitest';
import { storedEndpoint } from './__tests__/stored-endpoint';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { describeWebhookStore } from './describe-webhook-store';

describeWebhookStore(
  { describe, it, afterEach },
  {
    name: 'memory',
    createStore: async () => {
      const store = createMemoryWebhookStore();
      return { store, cleanup: () => store.close() };
    },
  },
);

/** Records one attempt of `messageId` to `ep_a` at `at`, changing its delivery as given. */
const record = (
  store: ReturnType<typeof createMemoryWebhookStore>,
  delivery: Parameters<ReturnType<typeof createMemoryWebhookStore>['recordAttempt']>[0]['delivery'],
  { messageId = 'msg_a', at }: { messageId?: string; at: number },
) =>
  store.recordAttempt({
    attempt: {
      id: `att_${Math.random()}`,
      tenantId: 'acme',
      endpointId: 'ep_a',
      messageId,
      eventType: 'call.ended',
      url: 'https://example.com/hook',
      attempt: delivery?.attempts ?? 1,
      trigger: 'event',
      status: delivery?.status === 'succeeded' ? 'succeeded' : 'failed',
      statusCode: delivery?.lastStatusCode ?? 0,
      durationMs: 1,
      responseBody: '',
      startedAt: at,
    },
    delivery,
    retentionMs: 86_400_000,
    maxAttemptsPerEndpoint: 100,
    now: at,
  });

describe('memory store deliveries', () => {
  const now = Date.UTC(2026, 0, 1);

  // The store updates a delivery in place when no field goes away, and rebuilds it when one does:
  // both must read back the same as a merge of the change into the delivery.
  it('merges each record into the delivery, clearing the due time, keeping the last error', async () => {
    const store = createMemoryWebhookStore();
    await store.createEndpoint(storedEndpoint('ep_a', now), 10);
    await store.createDeliveries(
      {
        id: 'msg_a',
        tenantId: 'acme',
        eventId: 'e1',
        eventType: 'call.ended',
        body: '{}',
        createdAt: now,
      },
      ['ep_a'],
      86_400_000,
    );
    await record(
      store,
      {
        status: 'pending',
        attempts: 1,
        nextAttemptAt: now + 5_000,
        lastError: 'HTTP 500',
        lastStatusCode: 500,
        updatedAt: now + 1,
      },
      { at: now },
    );
    const failed = await store.getDelivery('acme', 'ep_a', 'msg_a');
    expect(failed).toStrictEqual({
      tenantId: 'acme',
      endpointId: 'ep_a',
      messageId: 'msg_a',
      eventType: 'call.ended',
      status: 'pending',
      attempts: 1,
      createdAt: now,
      updatedAt: now + 1,
      nextAttemptAt: now + 5_000,
      lastError: 'HTTP 500',
      lastStatusCode: 500,
    });
    // A read is a copy: changing it changes nothing stored.
    failed!.status = 'failed';
    await record(
      store,
      {
        status: 'succeeded',
        attempts: 2,
        lastStatusCode: 204,
        updatedAt: now + 2,
      },
      { at: now },
    );
    expect(await store.getDelivery('acme', 'ep_a', 'msg_a')).toStrictEqual({
      tenantId: 'acme',
      endpointId: 'ep_a',
      messageId: 'msg_a',
      eventType: 'call.ended',
      status: 'succeeded',
      attempts: 2,
      createdAt: now,
      updatedAt: now + 2,
      lastError: 'HTTP 500',
      lastStatusCode: 204,
    });
    await record(
      store,
      {
        status: 'succeeded',
        attempts: 3,
        lastStatusCode: 200,
        updatedAt: now + 3,
      },
      { at: now },
    );
    expect(await store.getDelivery('acme', 'ep_a', 'msg_a')).toMatchObject({
      attempts: 3,
      lastStatusCode: 200,
      updatedAt: now + 3,
      lastError: 'HTTP 500',
    });
    await store.close();
  });
});

describe('memory store retention', () => {
  it('drops messages older than the retention with their finished deliveries, keeping pending ones', async () => {
    const store = createMemoryWebhookStore();
    const day = 86_400_000;
    const now = Date.UTC(2026, 0, 10);
    const message = (id: string, createdAt: number) => ({
      id,
      tenantId: 'acme',
      eventId: id,
      eventType: 'call.ended',
      body: '{}',
      createdAt,
    });
    await store.createEndpoint(storedEndpoint('ep_a', now - 3 * day), 10);
    for (const id of ['msg_old_sent', 'msg_old_pending', 'msg_old_failed'])
      await store.createDeliveries(message(id, now - 3 * day), ['ep_a'], day);
    // Given up by its last retry, 23 hours after its message was created: within the retention
    // of that attempt, but not of the message it would resend.
    const hour = 3_600_000;
    await store.createDeliveries(message('msg_old_failed_late', now - day - hour), ['ep_a'], day);
    for (const [id, status, at] of [
      ['msg_old_sent', 'succeeded', now - 3 * day],
      ['msg_old_failed', 'failed', now - 3 * day],
      ['msg_old_failed_late', 'failed', now - 2 * hour],
    ] as const) {
      await record(store, { status, attempts: 1, updatedAt: at }, { messageId: id, at });
    }
    // A sweep runs once per 1,000 writes.
    for (let index = 0; index < 1_000; index += 1)
      await store.createDeliveries(message(`msg_new_${index}`, now), ['ep_a'], day);

    expect(await store.getDelivery('acme', 'ep_a', 'msg_old_sent')).toBeUndefined();
    expect(await store.getDelivery('acme', 'ep_a', 'msg_old_failed')).toBeUndefined();
    expect(await store.getDelivery('acme', 'ep_a', 'msg_old_failed_late')).toBeUndefined();
    expect(await store.listFailedDeliveries('acme', { limit: 10 })).toEqual([]);
    expect(await store.getMessage('acme', 'msg_old_sent')).toBeUndefined();
    expect((await store.getDelivery('acme', 'ep_a', 'msg_old_pending'))?.status).toBe('pending');
    expect((await store.getDelivery('acme', 'ep_a', 'msg_new_0'))?.status).toBe('pending');
    expect((await store.getMessage('acme', 'msg_new_999'))?.createdAt).toBe(now);
  });
});
