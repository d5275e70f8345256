import type { BusSubscribeOptions, BusSubscription, EventBus } from '@calltrack/bus';

/** A real bus, wrapped to count the subscriptions open on it (per tenant). */
export interface CountingBus extends EventBus {
  /** Open subscriptions: all of them, or one tenant's. */
  open(tenantId?: string): number;
}

/**
 * Wraps a bus so tests can see how many subscriptions calltrack holds. `position()` is left out
 * (as a bus of your own may leave it out: channels then start from their made-up position)
 * unless `withPosition` is set.
 */
export function countingBus(bus: EventBus, settings: { withPosition?: boolean } = {}): CountingBus {
  const open = new Map<BusSubscription, string | undefined>();
  const { position } = bus;
  return {
    publish: (event) => bus.publish(event),
    close: () => bus.close(),
    ...(settings.withPosition && position !== undefined
      ? { position: (tenantId: string) => position.call(bus, tenantId) }
      : {}),
    open(tenantId) {
      if (tenantId === undefined) return open.size;
      return [...open.values()].filter((tenant) => tenant === tenantId).length;
    },
    subscribe(options: BusSubscribeOptions) {
      const inner = bus.subscribe(options);
      open.set(inner, options.tenantId);
      const ended = () => open.delete(inner);
      const wrapped: BusSubscription = {
        ready: inner.ready,
        async next() {
          const result = await inner.next();
          if (result.done) ended();
          return result;
        },
        async return() {
          ended();
          return (await inner.return?.()) ?? { done: true, value: undefined };
        },
        async close() {
          ended();
          await inner.close();
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return wrapped;
    },
  };
}
