import { getEventListeners } from 'node:events';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { makeCallEvent, startWebhookReceiver, type WebhookReceiver } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import { EventsMissedError } from './errors/events-missed-error';
import { followBus } from './follow-bus';
import type { WebhookClock } from './webhook-clock';
import type { WebhookStore } from './webhook-store';

let receiver: WebhookReceiver;
const toClose: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const item of toClose.splice(0).reverse()) await item.close();
  await receiver?.close();
});

function dispatcherOn(bus: EventBus, store: WebhookStore, errors: Error[] = []) {
  const dispatcher = createWebhookDispatcher({
    bus,
    store,
    allowHttp: true,
    allowedCidrs: ['127.0.0.0/8'],
    onError: (error) => errors.push(error),
  });
  toClose.push(dispatcher);
  return dispatcher;
}

const publishMany = async (bus: EventBus, count: number, tenantId = 'acme') => {
  const events = Array.from({ length: count }, () =>
    makeCallEvent({ tenantId, type: 'call.ended', status: 'completed' }),
  );
  for (const event of events) await bus.publish(event);
  return events;
};

describe('following the bus across dispatcher restarts', () => {
  it('delivers what was published while no dispatcher ran, from the saved cursor, once', async () => {
    receiver = await startWebhookReceiver();
    const bus = createMemoryBus();
    const store = createMemoryWebhookStore();
    toClose.push(bus, store);
    const first = dispatcherOn(bus, store);
    await first.createEndpoint('acme', { url: `${receiver.url}/crm` });
    await first.start();
    const [before] = await publishMany(bus, 1);
    await receiver.waitFor(1);
    await first.close();

    const whileDown = await publishMany(bus, 5);
    await publishMany(bus, 2, 'no-endpoints');
    const second = dispatcherOn(bus, store);
    await second.start();
    const after = await publishMany(bus, 1);
    const requests = await receiver.waitFor(7);
    const ids = requests.map((request) => JSON.parse(request.body).data.id as string);
    expect(ids).toEqual([before!.id, ...whileDown.map((e) => e.id), after[0]!.id]);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(7);
  });

  // Tenant ids are free text: one named like an Object.prototype member must be followed as any
  // other. On a plain object, `cursors.__proto__ = cursor` set nothing (so that tenant's cursor
  // was never loaded nor saved), and `'constructor' in cursors` was true for a tenant without
  // endpoints.
  it('catches up a tenant named __proto__ too, and keeps no cursor for one named constructor', async () => {
    receiver = await startWebhookReceiver();
    const bus = createMemoryBus();
    const store = createMemoryWebhookStore();
    toClose.push(bus, store);
    const first = dispatcherOn(bus, store);
    await first.createEndpoint('__proto__', { url: `${receiver.url}/crm` });
    await first.start();
    const [before] = await publishMany(bus, 1, '__proto__');
    await publishMany(bus, 1, 'constructor');
    await receiver.waitFor(1);
    await first.close();
    expect(Object.keys(await store.loadCursors())).toEqual(['__proto__']);

    const whileDown = await publishMany(bus, 3, '__proto__');
    const second = dispatcherOn(bus, store);
    await second.start();
    const requests = await receiver.waitFor(4);
    const ids = requests.map((request) => JSON.parse(request.body).data.id as string);
    expect(ids).toEqual([before!.id, ...whileDown.map((e) => e.id)]);
  });

  it('reports events that left the bus history while it was down, and carries on with live events', async () => {
    receiver = await startWebhookReceiver();
    const bus = createMemoryBus({ history: { maxEvents: 3 } });
    const store = createMemoryWebhookStore();
    toClose.push(bus, store);
    const errors: Error[] = [];
    const first = dispatcherOn(bus, store, errors);
    await first.createEndpoint('acme', { url: `${receiver.url}/crm` });
    await first.start();
    await publishMany(bus, 1);
    await receiver.waitFor(1);
    await first.close();
    await publishMany(bus, 6);

    const second = dispatcherOn(bus, store, errors);
    await second.start();
    expect(errors).toHaveLength(1);
    expect(EventsMissedError.isInstance(errors[0])).toBe(true);
    expect((errors[0] as EventsMissedError).tenantId).toBe('acme');
    expect(errors[0]!.message).toMatch(/no longer in the bus history/);
    // The live events still flow.
    await publishMany(bus, 1);
    await receiver.waitFor(2);
  });
});

describe('retrying a batch that failed', () => {
  it('leaves no abort listener behind after each pause, however long the outage', async () => {
    const bus = createMemoryBus();
    const store = createMemoryWebhookStore();
    toClose.push(bus, store);
    let signal: AbortSignal | undefined;
    const subscribe = bus.subscribe.bind(bus);
    bus.subscribe = (options) => {
      signal ??= options.signal;
      return subscribe(options);
    };
    const listenersAtCall: number[] = [];
    let handled!: () => void;
    const done = new Promise<void>((resolve) => {
      handled = resolve;
    });
    // The test clock; `armed` resolves when the next pause's timer is armed on it.
    const testClock = createTestClock();
    let onArmed: () => void = () => {};
    const armed = () =>
      new Promise<void>((resolve) => {
        onArmed = resolve;
      });
    const clock: WebhookClock = {
      ...testClock,
      setTimer(at, callback) {
        const cancel = testClock.setTimer(at, callback);
        onArmed();
        return cancel;
      },
    };
    const follower = followBus({
      bus,
      store,
      flushIntervalMs: 60_000,
      clock,
      onError: () => {},
      handle: async () => {
        listenersAtCall.push(getEventListeners(signal!, 'abort').length);
        if (listenersAtCall.length < 4) throw new Error('store down');
        handled();
        return new Set<string>();
      },
    });
    toClose.push({ close: () => follower.stop() });
    await follower.ready;
    let pause = armed();
    await bus.publish(makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }));
    // Three failures and their pauses, each over when the clock has moved by its backoff.
    for (const backoff of [250, 500, 1_000]) {
      await pause;
      pause = armed();
      testClock.advance(backoff);
    }
    await done;
    // Each pause's listener is gone.
    expect(listenersAtCall).toEqual(Array(4).fill(listenersAtCall[0]));
  });
});
