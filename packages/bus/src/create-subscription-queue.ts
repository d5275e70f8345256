import type { BusMessage, BusSubscription } from './event-bus';

/** Options of {@link createSubscriptionQueue}. */
export interface SubscriptionQueueOptions {
  /** Messages buffered before the subscriber is cut off with a `lagged` message. */
  maxBuffered: number;
  /** The cursor the subscription resumed after, reported if it lags before any delivery. */
  after?: string;
  /** Called once when the subscription ends for any reason: detach it from the bus. */
  onEnd: () => void;
  signal?: AbortSignal;
}

/** The producer side of one subscription. */
export interface SubscriptionQueue {
  readonly subscription: BusSubscription;
  /** False once the subscription has ended (closed, aborted, lagged): stop pushing. */
  readonly open: boolean;
  /**
   * Queues a message. Returns false when it was not accepted. Replays from history pass
   * `fromHistory`: they are bounded by the history size, not by the live buffer limit.
   */
  push(message: BusMessage, fromHistory?: boolean): boolean;
  /** Resolves `subscription.ready`. */
  markReady(): void;
  /** Ends the subscription after the buffered messages (used when the bus closes). */
  end(): void;
}

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A bounded push queue exposed as an async iterator. A slow reader never grows memory past
 * `maxBuffered` messages: on overflow it gets the buffered messages, then one `lagged` message
 * naming the last cursor it was given, and the subscription ends.
 */
export function createSubscriptionQueue(options: SubscriptionQueueOptions): SubscriptionQueue {
  let buffer: BusMessage[] = [];
  let head = 0;
  let waiter: ((result: IteratorResult<BusMessage, undefined>) => void) | undefined;
  let accepting = true;
  let finished = false;
  let lastCursor = options.after;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });

  const detach = (): void => {
    if (!accepting) return;
    accepting = false;
    options.signal?.removeEventListener('abort', onAbort);
    resolveReady();
    options.onEnd();
    // A reader waiting on an empty buffer gets nothing more: tell it the end has come.
    if (waiter) finish();
  };

  const finish = (): void => {
    finished = true;
    buffer = [];
    head = 0;
    const pending = waiter;
    waiter = undefined;
    pending?.(done);
  };

  const close = async (): Promise<IteratorReturnResult<undefined>> => {
    detach();
    finish();
    return done;
  };

  function onAbort(): void {
    void close();
  }

  const enqueue = (message: BusMessage): void => {
    if (waiter) {
      const pending = waiter;
      waiter = undefined;
      pending({ done: false, value: message });
    } else {
      buffer.push(message);
    }
  };

  const subscription: BusSubscription = {
    ready,
    next() {
      if (head < buffer.length) {
        const value = buffer[head] as BusMessage;
        head += 1;
        if (head > 1024 && head * 2 > buffer.length) {
          buffer = buffer.slice(head);
          head = 0;
        }
        return Promise.resolve({ done: false, value });
      }
      if (finished || !accepting) {
        finish();
        return Promise.resolve(done);
      }
      return new Promise((resolve) => {
        waiter = resolve;
      });
    },
    return: close,
    close: async () => {
      await close();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  if (options.signal?.aborted) {
    // Never attached, so there is nothing to detach from.
    accepting = false;
    finished = true;
    resolveReady();
  } else {
    options.signal?.addEventListener('abort', onAbort, { once: true });
  }

  return {
    subscription,
    get open() {
      return accepting;
    },
    push(message, fromHistory = false) {
      if (!accepting) return false;
      if (!fromHistory && buffer.length - head >= options.maxBuffered) {
        enqueue({ type: 'lagged', cursor: lastCursor });
        detach();
        return false;
      }
      if (message.type === 'event') lastCursor = message.cursor;
      enqueue(message);
      return true;
    },
    markReady: resolveReady,
    end: detach,
  };
}
