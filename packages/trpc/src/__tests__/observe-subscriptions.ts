import type { BusSubscribeOptions, BusSubscription, EventBus } from '@calltrack/bus';

/** One bus subscription seen by {@link observeSubscriptions}. */
export interface ObservedSubscription {
  options: BusSubscribeOptions;
  /** Resolves when the subscriber closed it (what the generator's `finally` does). */
  closed: Promise<void>;
  /** The real subscription, to check that it has ended. */
  subscription: BusSubscription;
}

/**
 * Wraps a real bus and records each subscription made through it, and when the subscriber
 * closes it. Everything else goes to the real bus unchanged, except `position()`: it is left out
 * (as a bus of your own may leave it out, so `ready` carries `callStreamStartId`) unless
 * `withPosition` is set.
 */
export function observeSubscriptions(
  bus: EventBus,
  settings: { withPosition?: boolean } = {},
): {
  bus: EventBus;
  subscriptions: ObservedSubscription[];
  /** The tenants whose `position()` was read, one entry per read (with `withPosition`). */
  positionReads: string[];
  /** Resolves with the next subscription made (or the nth, counting from 1). */
  nth(n: number): Promise<ObservedSubscription>;
} {
  const subscriptions: ObservedSubscription[] = [];
  const waiters: Array<{ n: number; resolve: (s: ObservedSubscription) => void }> = [];
  const { position } = bus;
  const positionReads: string[] = [];
  const observed: EventBus = {
    publish: (event) => bus.publish(event),
    close: () => bus.close(),
    ...(settings.withPosition && position !== undefined
      ? {
          position: (tenantId: string) => {
            positionReads.push(tenantId);
            return position.call(bus, tenantId);
          },
        }
      : {}),
    subscribe(options) {
      const subscription = bus.subscribe(options);
      let markClosed!: () => void;
      const closed = new Promise<void>((resolve) => {
        markClosed = resolve;
      });
      const wrapped: BusSubscription = {
        ready: subscription.ready,
        next: () => subscription.next(),
        async return() {
          markClosed();
          return (await subscription.return?.()) ?? { done: true, value: undefined };
        },
        async close() {
          markClosed();
          await subscription.close();
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      const entry = { options, closed, subscription };
      subscriptions.push(entry);
      for (const waiter of waiters.splice(0)) {
        if (waiter.n <= subscriptions.length)
          waiter.resolve(subscriptions[waiter.n - 1] as ObservedSubscription);
        else waiters.push(waiter);
      }
      return wrapped;
    },
  };
  return {
    bus: observed,
    subscriptions,
    positionReads,
    nth(n) {
      const existing = subscriptions[n - 1];
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}
