import type { BusMessage, BusSubscription, EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';

/** How an event is made impossible to send. */
export type Poison = 'deep' | 'toJSON' | 'getter';

/**
 * A copy of `event` that cannot be encoded: `deep` nests its data 20,000 levels (JSON.stringify
 * overflows the stack), `toJSON` makes its data throw when serialized, `getter` makes reading
 * its `callId` or `branchId` throw (so do filters that look at them).
 */
export function poisonEvent(event: CallEvent, poison: Poison): CallEvent {
  if (poison === 'deep') {
    let nested: Record<string, unknown> = {};
    const root = nested;
    for (let depth = 0; depth < 20_000; depth += 1) {
      const next: Record<string, unknown> = {};
      nested.n = next;
      nested = next;
    }
    return { ...event, data: root };
  }
  if (poison === 'toJSON') {
    return {
      ...event,
      data: {
        toJSON() {
          throw new Error('poisoned toJSON');
        },
      },
    };
  }
  const copy = { ...event };
  for (const field of ['callId', 'branchId'] as const) {
    Object.defineProperty(copy, field, {
      enumerable: true,
      get() {
        throw new Error(`poisoned ${field}`);
      },
    });
  }
  return copy;
}

/**
 * Fault injection over a real bus: every subscription yields, in place of the events whose ids
 * are in `poisoned`, a poisoned copy (the same copy for every subscription, as a bus hands the
 * same object to all its subscribers). Everything else is the real bus's.
 */
export function poisonBus(bus: EventBus): {
  bus: EventBus;
  poison(eventId: string, kind: Poison): void;
} {
  const kinds = new Map<string, Poison>();
  const copies = new WeakMap<CallEvent, CallEvent>();
  const map = (message: BusMessage): BusMessage => {
    if (message.type !== 'event') return message;
    const kind = kinds.get(message.event.id);
    if (kind === undefined) return message;
    let copy = copies.get(message.event);
    if (copy === undefined) {
      copy = poisonEvent(message.event, kind);
      copies.set(message.event, copy);
    }
    return { ...message, event: copy };
  };
  return {
    poison(eventId, kind) {
      kinds.set(eventId, kind);
    },
    bus: {
      publish: (event) => bus.publish(event),
      close: () => bus.close(),
      subscribe(options) {
        const subscription = bus.subscribe(options);
        const wrapped: BusSubscription = {
          ready: subscription.ready,
          async next() {
            const result = await subscription.next();
            return result.done ? result : { done: false, value: map(result.value) };
          },
          return: () =>
            subscription.return?.() ?? Promise.resolve({ done: true, value: undefined }),
          close: () => subscription.close(),
          [Symbol.asyncIterator]() {
            return this;
          },
        };
        return wrapped;
      },
    },
  };
}
