import type { BusMessage, BusSubscription, EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { createFanOutOutage, type FanOutOutage } from './create-fan-out-outage';
import { EventsMissedError } from './errors/events-missed-error';
import type { WebhookClock } from './webhook-clock';
import type { WebhookStore } from './webhook-store';

/** Options of {@link followBus}. */
export interface FollowBusOptions {
  bus: EventBus;
  store: Pick<WebhookStore, 'saveCursors' | 'loadCursors'>;
  /**
   * Fans events out (a batch of what arrived together, in order); resolves once their deliveries
   * are durably queued, with the tenants that have endpoints (only their cursors are kept). A
   * rejection is retried: an event is never skipped.
   */
  handle: (events: readonly CallEvent[]) => Promise<ReadonlySet<string>>;
  /** How often cursors are written to the store (real time). */
  flushIntervalMs: number;
  /** Where a failed batch waits before it is retried (the dispatcher's clock). */
  clock: WebhookClock;
  onError: (error: Error) => void;
  /** Where outages are counted (shared with fan-out's direct attempts). Default: its own. */
  outage?: FanOutOutage;
}

/** A running {@link followBus}. */
export interface BusFollower {
  /** Resolves once live events flow and the saved cursors have been caught up. */
  readonly ready: Promise<void>;
  /** Stops following and writes the last cursors. */
  stop(): Promise<void>;
}

const idle = Symbol('idle');
const notYet = Symbol('not-yet');
/** Most events fanned out together. */
const maxBatch = 256;

interface Positioned {
  event: CallEvent;
  cursor: string;
}

/**
 * Follows every tenant's events (`allTenants: true`) without losing any across restarts of the
 * dispatcher: the cursor of the last event handled per tenant (with endpoints) is saved in the
 * store; on start, after live delivery is attached, each saved tenant is replayed from its cursor
 * out of the bus's history. The overlap between replay and live events is harmless: fan-out is
 * idempotent per message and endpoint. Events that have left the history meanwhile are reported
 * as an `EventsMissedError`. The same catch-up runs after the live subscription lags or
 * reconnects.
 */
export function followBus(options: FollowBusOptions): BusFollower {
  const { bus, store, handle, clock, onError } = options;
  const controller = new AbortController();
  // Keyed by tenant id, which may be any text: no prototype, so a tenant named `__proto__` is
  // stored like any other and one named `constructor` is not found where it was never put.
  const cursors: Record<string, string> = Object.create(null);
  let dirty: Record<string, string> = Object.create(null);
  let stopped = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const outage = options.outage ?? createFanOutOutage(onError, clock);
  const report = (error: unknown): void => outage.failed(error);

  /**
   * Waits `ms` on the clock (a test moves it instead of sleeping), or until stopped; either way
   * its timer and abort listener go (a long outage pauses often).
   */
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const { signal } = controller;
      const end = (): void => {
        cancel();
        signal.removeEventListener('abort', end);
        resolve();
      };
      const cancel = clock.setTimer(clock.now() + ms, end);
      signal.addEventListener('abort', end, { once: true });
    });

  /** Handles a batch of events, retrying until it is queued (or we stop): none is skipped. */
  const process = async (batch: readonly Positioned[]): Promise<void> => {
    if (batch.length === 0) return;
    for (let failures = 0; !stopped; failures += 1) {
      try {
        const keep = await handle(batch.map((item) => item.event));
        for (const { event, cursor } of batch) {
          if (keep.has(event.tenantId) || event.tenantId in cursors) {
            cursors[event.tenantId] = cursor;
            dirty[event.tenantId] = cursor;
          }
        }
        outage.worked('batch');
        return;
      } catch (error) {
        outage.failed(error, 'batch');
        await pause(Math.min(30_000, 250 * 2 ** failures));
      }
    }
  };

  /**
   * Reads what a subscription has ready: at least one message (waiting for it), then whatever
   * else is already buffered, up to a batch. `carry` is a read left pending by the last call.
   */
  const readBatch = async (
    subscription: BusSubscription,
    carry: { next?: Promise<IteratorResult<BusMessage>> },
  ): Promise<{ messages: BusMessage[]; done: boolean }> => {
    const first = await (carry.next ?? subscription.next());
    carry.next = undefined;
    if (first.done) return { messages: [], done: true };
    const messages = [first.value];
    while (messages.length < maxBatch) {
      const next = subscription.next();
      // An already buffered message wins this race; otherwise keep the read for next time.
      const result = await Promise.race([next, Promise.resolve(notYet)]);
      if (result === notYet) {
        carry.next = next;
        break;
      }
      if (result.done) return { messages, done: true };
      messages.push(result.value);
    }
    return { messages, done: false };
  };

  /** Handles messages in order: events in batches, resets and lags between them. */
  const handleMessages = async (
    messages: readonly BusMessage[],
    onOther: (message: BusMessage) => Promise<boolean>,
  ): Promise<boolean> => {
    let batch: Positioned[] = [];
    for (const message of messages) {
      if (message.type === 'event') {
        batch.push({ event: message.event, cursor: message.cursor });
        continue;
      }
      await process(batch);
      batch = [];
      if (!(await onOther(message))) return false;
    }
    await process(batch);
    return true;
  };

  const missed = (tenantId: string, message: BusMessage): void => {
    if (message.type !== 'reset') return;
    report(
      new EventsMissedError({
        tenantId,
        message: `Events of tenant ${tenantId} published while no webhook dispatcher was running are no longer in the bus history (${message.reason}); they were not delivered.`,
      }),
    );
  };

  /** Replays a tenant's events after `after`, up to what is already queued, then lets go. */
  const catchUp = async (tenantId: string, after: string): Promise<void> => {
    let subscription: BusSubscription;
    try {
      subscription = bus.subscribe({ tenantId, after, signal: controller.signal });
      await subscription.ready;
    } catch (error) {
      report(error);
      return;
    }
    const carry: { next?: Promise<IteratorResult<BusMessage>> } = {};
    for (;;) {
      // Everything up to `ready` is already queued: once the queue is empty, the rest comes
      // through the live subscription, which was attached first.
      const pending = carry.next ?? subscription.next();
      carry.next = pending;
      const first = await Promise.race([
        pending,
        new Promise<typeof idle>((resolve) => setImmediate(() => resolve(idle))),
      ]);
      if (first === idle) {
        await subscription.close();
        const late = await pending;
        if (!late.done) await handleMessages([late.value], async () => true);
        return;
      }
      const { messages, done } = await readBatch(subscription, carry);
      await handleMessages(messages, async (message) => {
        missed(tenantId, message);
        return true;
      });
      if (done) return;
    }
  };

  const catchUpAll = async (): Promise<void> => {
    for (const [tenantId, after] of Object.entries(cursors)) {
      if (stopped) return;
      await catchUp(tenantId, after);
    }
  };

  const run = async (): Promise<void> => {
    try {
      Object.assign(cursors, await store.loadCursors());
    } catch (error) {
      report(error);
    }
    while (!stopped) {
      const live = bus.subscribe({ allTenants: true, signal: controller.signal });
      await live.ready;
      await catchUpAll();
      markReady();
      let received = 0;
      const carry: { next?: Promise<IteratorResult<BusMessage>> } = {};
      for (;;) {
        const { messages, done } = await readBatch(live, carry);
        received += messages.length;
        const carryOn = await handleMessages(messages, async (message) => {
          if (message.type === 'reset') {
            await catchUpAll();
            return true;
          }
          return false; // lagged: subscribe again and catch up from the cursors
        });
        if (done || !carryOn) break;
      }
      await live.close();
      if (!stopped && received === 0) {
        // The bus ended the subscription at once: it is closed.
        report(new Error('The bus closed: the webhook dispatcher no longer receives events.'));
        return;
      }
    }
  };

  const flush = async (): Promise<void> => {
    if (Object.keys(dirty).length === 0) return;
    const writing = dirty;
    dirty = Object.create(null);
    try {
      await store.saveCursors(writing);
      outage.worked('cursors');
    } catch (error) {
      dirty = Object.assign(Object.create(null), writing, dirty);
      outage.failed(error, 'cursors');
    }
  };

  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();
  const running = run().catch(report);

  return {
    ready: Promise.race([ready, running]),
    async stop() {
      stopped = true;
      controller.abort();
      clearInterval(timer);
      await running;
      await flush();
      markReady();
    },
  };
}
