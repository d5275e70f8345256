import type { BusMessage, BusSubscription } from './event-bus';
import { onAbort } from './on-abort';

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
  /**
   * Ends the subscription with a final `lagged` message naming the last cursor delivered, so the
   * subscriber can resume from history (used on overflow, and when a delivery failed).
   */
  cutOff(): void;
  /** Resolves `subscription.ready`. */
  markReady(): void;
  /** Ends the subscription after the buffered messages (used when the bus closes). */
  end(): void;
}

type Waiter = (result: IteratorResult<BusMessage, undefined>) => void;

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
const resolved = Promise.resolve();

/**
 * A bounded push queue exposed as an async iterator. A slow reader never grows memory past
 * `maxBuffered` messages: on overflow it gets the buffered messages, then one `lagged` message
 * naming the last cursor it was given, and the subscription ends.
 *
 * A class with its methods on the prototype, because servers hold one per connected client:
 * a closure-based version cost about 3.6 KB per idle subscription, this one a few hundred bytes.
 */
class BoundedSubscriptionQueue implements SubscriptionQueue, BusSubscription {
  #buffer: BusMessage[] = [];
  #head = 0;
  /**
   * Readers waiting on an empty buffer, oldest first: the iterator protocol lets a caller ask
   * again before the previous `next()` settled, and each call gets its own message.
   */
  #waiters: Waiter[] | undefined;
  #accepting = true;
  #finished = false;
  #lastCursor: string | undefined;
  #ready: Promise<void> | undefined;
  #resolveReady: (() => void) | undefined;
  #isReady = false;
  /** Stops listening to the signal. */
  #offAbort: (() => void) | undefined;
  readonly #maxBuffered: number;
  readonly #onEnd: () => void;

  constructor(options: SubscriptionQueueOptions) {
    this.#maxBuffered = options.maxBuffered;
    this.#onEnd = options.onEnd;
    this.#lastCursor = options.after;
    if (options.signal?.aborted) {
      // Never attached, so there is nothing to detach from.
      this.#accepting = false;
      this.#finished = true;
      this.#isReady = true;
    } else if (options.signal) {
      // One listener per signal, shared by every subscription that passes it.
      this.#offAbort = onAbort(options.signal, () => void this.return());
    }
  }

  // ---- producer side ----------------------------------------------------------------------

  get subscription(): BusSubscription {
    return this;
  }

  get open(): boolean {
    return this.#accepting;
  }

  push(message: BusMessage, fromHistory = false): boolean {
    if (!this.#accepting) return false;
    if (!fromHistory && this.#buffer.length - this.#head >= this.#maxBuffered) {
      this.cutOff();
      return false;
    }
    if (message.type === 'event') this.#lastCursor = message.cursor;
    this.#enqueue(message);
    return true;
  }

  cutOff(): void {
    if (!this.#accepting) return;
    this.#enqueue({ type: 'lagged', cursor: this.#lastCursor });
    this.end();
  }

  markReady(): void {
    this.#isReady = true;
    this.#resolveReady?.();
  }

  end(): void {
    if (!this.#accepting) return;
    this.#accepting = false;
    this.#offAbort?.();
    this.#offAbort = undefined;
    this.markReady();
    this.#onEnd();
    // A reader waiting on an empty buffer gets nothing more: tell it the end has come.
    if (this.#waiters) this.#finish();
  }

  // ---- consumer side (BusSubscription) ----------------------------------------------------

  get ready(): Promise<void> {
    if (this.#isReady) return resolved;
    this.#ready ??= new Promise<void>((resolve) => {
      this.#resolveReady = resolve;
    });
    return this.#ready;
  }

  next(): Promise<IteratorResult<BusMessage, undefined>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head] as BusMessage;
      this.#head += 1;
      if (this.#head === this.#buffer.length) {
        this.#buffer = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#finished || !this.#accepting) {
      this.#finish();
      return Promise.resolve(done);
    }
    return new Promise((resolve) => {
      this.#waiters ??= [];
      this.#waiters.push(resolve);
    });
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    this.end();
    this.#finish();
    return done;
  }

  async close(): Promise<void> {
    await this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #enqueue(message: BusMessage): void {
    const waiters = this.#waiters;
    if (waiters) {
      // Waiters exist only while the buffer is empty: the oldest one takes the message.
      const waiter = waiters.shift() as Waiter;
      if (waiters.length === 0) this.#waiters = undefined;
      waiter({ done: false, value: message });
    } else {
      this.#buffer.push(message);
    }
  }

  #finish(): void {
    this.#finished = true;
    this.#buffer = [];
    this.#head = 0;
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters) for (const waiter of waiters) waiter(done);
  }
}

/** Creates the bounded queue behind one subscription. */
export function createSubscriptionQueue(options: SubscriptionQueueOptions): SubscriptionQueue {
  return new BoundedSubscriptionQueue(options);
}
