import type { BusMessage, BusSubscribeOptions, BusSubscription, EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';

/** How a poisoned event breaks whoever reads or encodes it. */
export type PoisonKind = 'toJSON' | 'data-getter' | 'type-getter';

/**
 * Which subscriptions a fault hits: a tenant's live ones (or, with `replay`, its replays: those
 * with `after`), or the all-tenants ones.
 */
export type FaultTarget = { tenantId: string; replay?: boolean } | { allTenants: true };

/**
 * A real bus with faults injected on the subscribing side: events that turn poisonous on their
 * way to the subscriber (the bus itself refuses such events at publish, so they are made here),
 * and live subscriptions that end or fail on demand.
 */
export interface FaultyBus extends EventBus {
  /** Delivers the event with this id, to every subscription, as a poisoned copy. */
  poison(eventId: string, kind: PoisonKind): void;
  /** Ends the target's live subscriptions (no `after`) as if the bus had closed them. */
  endSubscriptions(target: FaultTarget): number;
  /** Makes the target's live subscriptions fail: their pending or next read rejects. */
  failSubscriptions(target: FaultTarget, error: Error): number;
  /** Makes the next `count` calls of `subscribe` throw. */
  failSubscribe(count: number, error: Error): void;
  /**
   * Cuts the next `times` replays (subscriptions with `after`) short: each ends after delivering
   * `messages` messages, as if the bus had closed it.
   */
  cutReplays(messages: number, times: number): void;
  /** Subscriptions made so far, with their options. */
  readonly subscribeCalls: BusSubscribeOptions[];
  /** Open subscriptions: all of them, or one tenant's. */
  open(tenantId?: string): number;
}

function poisoned(event: CallEvent, kind: PoisonKind): CallEvent {
  const copy = { ...event } as Record<string, unknown>;
  const fail = (): never => {
    throw new Error(`poisoned event ${event.id}: ${kind}`);
  };
  if (kind === 'toJSON') copy.data = { ...event.data, toJSON: fail };
  if (kind === 'data-getter') Object.defineProperty(copy, 'data', { get: fail, enumerable: true });
  if (kind === 'type-getter') Object.defineProperty(copy, 'type', { get: fail, enumerable: true });
  return copy as CallEvent;
}

interface Tracked {
  options: BusSubscribeOptions;
  inner: BusSubscription;
  /** Set when the subscription must fail: the next read rejects with it. */
  failure?: Error;
  /** Rejects a read already waiting. */
  rejectWaiting?: (error: Error) => void;
  /** Ends a read already waiting. */
  endWaiting?: () => void;
  ended: boolean;
}

const matches = (tracked: Tracked, target: FaultTarget): boolean =>
  'allTenants' in target
    ? tracked.options.allTenants === true
    : tracked.options.tenantId === target.tenantId &&
      (tracked.options.after !== undefined) === (target.replay === true);

/**
 * Wraps a real bus; see {@link FaultyBus}. It has no `position()`: channels subscribe without
 * `after` (which is how live subscriptions are told from replays here) and start from their
 * made-up position, as on a bus of your own.
 */
export function faultyBus(bus: EventBus): FaultyBus {
  const poisons = new Map<string, PoisonKind>();
  const live = new Set<Tracked>();
  const subscribeCalls: BusSubscribeOptions[] = [];
  let subscribeFailures: { count: number; error: Error } | undefined;
  let replayCuts: { messages: number; times: number } | undefined;

  const subscribe = (options: BusSubscribeOptions): BusSubscription => {
    subscribeCalls.push(options);
    if (subscribeFailures && subscribeFailures.count > 0) {
      subscribeFailures.count -= 1;
      throw subscribeFailures.error;
    }
    const inner = bus.subscribe(options);
    const tracked: Tracked = { options, inner, ended: false };
    live.add(tracked);
    let budget = Number.POSITIVE_INFINITY;
    if (options.after !== undefined && replayCuts && replayCuts.times > 0) {
      replayCuts.times -= 1;
      budget = replayCuts.messages;
    }
    const finish = (): void => {
      tracked.ended = true;
      live.delete(tracked);
    };
    const read = async (): Promise<IteratorResult<BusMessage, undefined>> => {
      if (tracked.failure) {
        finish();
        void inner.close();
        throw tracked.failure;
      }
      if (budget <= 0) {
        finish();
        void inner.close();
      }
      if (tracked.ended) return { done: true, value: undefined };
      budget -= 1;
      const result = await new Promise<IteratorResult<BusMessage, undefined>>((resolve, reject) => {
        tracked.rejectWaiting = reject;
        tracked.endWaiting = () => resolve({ done: true, value: undefined });
        inner.next().then(resolve, reject);
      });
      tracked.rejectWaiting = undefined;
      tracked.endWaiting = undefined;
      if (result.done) {
        finish();
        return result;
      }
      const message = result.value;
      if (message.type !== 'event') return result;
      const kind = poisons.get(message.event.id);
      if (kind === undefined) return result;
      return { done: false, value: { ...message, event: poisoned(message.event, kind) } };
    };
    const wrapped: BusSubscription = {
      ready: inner.ready,
      next: read,
      async return() {
        finish();
        await inner.close();
        return { done: true, value: undefined };
      },
      async close() {
        finish();
        await inner.close();
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return wrapped;
  };

  return {
    publish: (event) => bus.publish(event),
    close: () => bus.close(),
    subscribe,
    subscribeCalls,
    poison(eventId, kind) {
      poisons.set(eventId, kind);
    },
    endSubscriptions(target) {
      let count = 0;
      for (const tracked of [...live]) {
        if (!matches(tracked, target)) continue;
        count += 1;
        tracked.ended = true;
        live.delete(tracked);
        tracked.endWaiting?.();
        void tracked.inner.close();
      }
      return count;
    },
    failSubscriptions(target, error) {
      let count = 0;
      for (const tracked of [...live]) {
        if (!matches(tracked, target)) continue;
        count += 1;
        tracked.failure = error;
        tracked.rejectWaiting?.(error);
      }
      return count;
    },
    failSubscribe(count, error) {
      subscribeFailures = { count, error };
    },
    cutReplays(messages, times) {
      replayCuts = { messages, times };
    },
    open(tenantId) {
      if (tenantId === undefined) return live.size;
      return [...live].filter((tracked) => tracked.options.tenantId === tenantId).length;
    },
  };
}
