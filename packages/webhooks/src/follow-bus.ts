import type { BusMessage, BusSubscription, EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { EventsMissedError } from './errors/events-missed-error';
import type { WebhookStore } from './webhook-store';

/** Options of {@link followBus}. */
export interface FollowBusOptions {
  bus: EventBus;
  store: Pick<WebhookStore, 'saveCursors' | 'loadCursors'>;
  /**
   * Fans one event out; resolves once its deliveries are durably queued, with whether the tenant
   * has endpoints (only then is its cursor kept). A rejection is retried: the event is never
   * skipped.
   */
  handle: (event: CallEvent) => Promise<boolean>;
  /** How often cursors are written to the store (real time). */
  flushIntervalMs: number;
  onError: (error: Error) => void;
}

/** A running {@link followBus}. */
export interface BusFollower {
  /** Resolves once live events flow and the saved cursors have been caught up. */
  readonly ready: Promise<void>;
  /** Stops following and writes the last cursors. */
  stop(): Promise<void>;
}

const idle = Symbol('idle');

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
  const { bus, store, handle, onError } = options;
  const controller = new AbortController();
  const cursors: Record<string, string> = {};
  let dirty: Record<string, string> = {};
  let stopped = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const report = (error: unknown): void => {
    onError(error instanceof Error ? error : new Error(String(error)));
  };

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      controller.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  /** Handles one event, retrying until it is queued (or we stop): it is never skipped. */
  const process = async (event: CallEvent, cursor: string): Promise<void> => {
    for (let failures = 0; !stopped; failures += 1) {
      try {
        const keep = await handle(event);
        if (keep || event.tenantId in cursors) {
          cursors[event.tenantId] = cursor;
          dirty[event.tenantId] = cursor;
        }
        return;
      } catch (error) {
        report(error);
        await pause(Math.min(30_000, 250 * 2 ** failures));
      }
    }
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
    for (;;) {
      const next = subscription.next();
      // Everything up to `ready` is already queued: once the queue is empty, the rest comes
      // through the live subscription, which was attached first.
      const result = await Promise.race([
        next,
        new Promise<typeof idle>((resolve) => setImmediate(() => resolve(idle))),
      ]);
      if (result === idle) {
        await subscription.close();
        const late = await next;
        if (!late.done && late.value.type === 'event')
          await process(late.value.event, late.value.cursor);
        return;
      }
      if (result.done) return;
      if (result.value.type === 'event') await process(result.value.event, result.value.cursor);
      else missed(tenantId, result.value);
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
      for await (const message of live) {
        received += 1;
        if (message.type === 'event') await process(message.event, message.cursor);
        else if (message.type === 'reset') await catchUpAll();
        else break; // lagged: subscribe again and catch up from the cursors
      }
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
    dirty = {};
    try {
      await store.saveCursors(writing);
    } catch (error) {
      dirty = { ...writing, ...dirty };
      report(error);
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
