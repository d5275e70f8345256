import type { EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';

let markers = 0;

/** Reads what a bus delivered to one tenant: subscribe first, then `drain()` after publishing. */
export interface BusReader {
  /** Resolves once the subscription is attached. */
  ready: Promise<void>;
  /**
   * Every event delivered since the last drain, up to a marker published now (so everything
   * published before the call is in, from any process).
   */
  drain(): Promise<CallEvent[]>;
  close(): Promise<void>;
}

export function readBus(bus: EventBus, tenantId: string): BusReader {
  const subscription = bus.subscribe({ tenantId });
  return {
    ready: subscription.ready,
    async drain() {
      markers += 1;
      const id = `test-marker:${process.pid}:${markers}`;
      const at = new Date().toISOString();
      await bus.publish({
        id,
        type: 'test.marker',
        tenantId,
        provider: 'calltrack',
        occurredAt: at,
        receivedAt: at,
        data: {},
      });
      const events: CallEvent[] = [];
      for (;;) {
        const { value, done } = await subscription.next();
        if (done) throw new Error('the subscription ended');
        if (value.type !== 'event') throw new Error(`unexpected ${value.type}`);
        if (value.event.id === id) return events;
        if (value.event.type !== 'test.marker') events.push(value.event);
      }
    },
    async close() {
      await subscription.return?.();
    },
  };
}
