import type { BusSubscription } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';

/** An event a {@link collectBusEvents} collector received, with when it arrived (`Date.now()`). */
export interface CollectedEvent {
  event: CallEvent;
  at: number;
}

/**
 * Reads a bus subscription in the background and keeps every event with its arrival time;
 * `waitFor` resolves once an event that passes `check` has arrived (at once if one has).
 */
export function collectBusEvents(subscription: BusSubscription) {
  const received: CollectedEvent[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    for await (const message of subscription) {
      if (message.type !== 'event') continue;
      received.push({ event: message.event, at: Date.now() });
      for (const waiter of [...waiters]) waiter();
    }
  })();
  const waitFor = (check: (event: CallEvent) => boolean): Promise<void> =>
    new Promise((resolve) => {
      const waiter = () => {
        if (!received.some((entry) => check(entry.event))) return;
        waiters.delete(waiter);
        resolve();
      };
      waiters.add(waiter);
      waiter();
    });
  return { received, waitFor };
}
