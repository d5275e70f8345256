import type { BusMessage, BusSubscription, EventBus } from '@calltrack/bus';

/** A real bus whose replays (subscriptions with `after`) can be made to read slowly. */
export interface SlowReplayBus extends EventBus {
  /** From now on, a replay's first history read takes until {@link release}. */
  hold(): void;
  /** Lets the held reads end; later ones end at once. */
  release(): void;
  /** Replays opened since the first {@link hold}; reads in flight now, and the most at once. */
  readonly replays: { started: number; inFlight: number; maxInFlight: number };
}

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Wraps a bus so that a replay's first history read is slow, as on a Redis bus with a large page
 * of history (`replayBatchSize` events) to read: the subscription is not ready and delivers
 * nothing until the read ends. As on Redis, closing the subscription ends it at once (its `ready`
 * resolves, its iterator is done) but not the read already sent, which is counted in flight until
 * it ends. Subscriptions without `after` (the channels') pass through.
 */
export function slowReplayBus(bus: EventBus): SlowReplayBus {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let watching = false;
  const replays = { started: 0, inFlight: 0, maxInFlight: 0 };
  return {
    publish: (event) => bus.publish(event),
    close: () => bus.close(),
    replays,
    hold() {
      watching = true;
      if (gate) return;
      let open!: () => void;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
    subscribe(options) {
      const inner = bus.subscribe(options);
      if (options.after === undefined || !watching) return inner;
      replays.started += 1;
      replays.inFlight += 1;
      replays.maxInFlight = Math.max(replays.maxInFlight, replays.inFlight);
      const read = (gate?.promise ?? Promise.resolve()).then(() => {
        replays.inFlight -= 1;
      });
      let closed = false;
      let onClose!: () => void;
      const closing = new Promise<void>((resolve) => {
        onClose = resolve;
      });
      const close = async (): Promise<void> => {
        closed = true;
        onClose();
        await inner.close();
      };
      const wrapped: BusSubscription = {
        ready: Promise.race([read.then(() => inner.ready), closing]),
        async next(): Promise<IteratorResult<BusMessage, undefined>> {
          await Promise.race([read, closing]);
          return closed ? done : inner.next();
        },
        async return() {
          await close();
          return done;
        },
        close,
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return wrapped;
    },
  };
}
