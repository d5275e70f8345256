import type { BusMessage, BusSubscribeOptions, BusSubscription, EventBus } from '@calltrack/bus';

/** Which subscriptions a gate holds: live-only ones (no `after`) or replays (with `after`). */
export type GateKind = 'live' | 'replay';

/** A real bus whose subscriptions can be held back, to order two readers. */
export interface GatedBus extends EventBus {
  /** Holds back delivery to one kind of subscription (they keep buffering in the bus). */
  hold(kind: GateKind): void;
  /** Lets them read again. */
  release(kind: GateKind): void;
}

/**
 * Wraps a bus so a test can make the shared per-tenant subscription slower than a replay, or
 * the other way round: the condition a busy process or a second Redis connection produces,
 * made deterministic. It has no `position()`, so channels subscribe without `after` (`live`).
 */
export function gatedBus(bus: EventBus): GatedBus {
  const gates = new Map<GateKind, { promise: Promise<void>; open: () => void }>();
  return {
    publish: (event) => bus.publish(event),
    close: () => bus.close(),
    hold(kind) {
      if (gates.has(kind)) return;
      let open!: () => void;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gates.set(kind, { promise, open });
    },
    release(kind) {
      gates.get(kind)?.open();
      gates.delete(kind);
    },
    subscribe(options: BusSubscribeOptions) {
      const inner = bus.subscribe(options);
      const kind: GateKind = options.after === undefined ? 'live' : 'replay';
      const wrapped: BusSubscription = {
        ready: inner.ready,
        async next(): Promise<IteratorResult<BusMessage, undefined>> {
          // Held after reading, so a read already waiting for the next event is held too.
          const result = await inner.next();
          for (let gate = gates.get(kind); gate; gate = gates.get(kind)) await gate.promise;
          return result;
        },
        return: () => inner.return?.() ?? Promise.resolve({ done: true, value: undefined }),
        close: () => inner.close(),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return wrapped;
    },
  };
}
