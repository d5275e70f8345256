import { createMemoryBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { describeDispatcher } from './__tests__/describe-dispatcher';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';

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
});
