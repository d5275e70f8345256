import type { EventSink } from '@calltrack/core';
import type { RecentCalls } from './recent-calls';

/**
 * Puts itself between the tracker and the bus: every `call.ended` the tracker publishes (from a
 * webhook, the reaper or its outbox) is added to the recent calls *before* it reaches the bus,
 * so a browser that reloads the list on the event always finds the call in it.
 */
export function recordEndedCalls(bus: EventSink, recentCalls: RecentCalls): EventSink {
  return {
    async publish(event) {
      if (event.type === 'call.ended' && event.callId) {
        await recentCalls.add(event.tenantId, event.callId);
      }
      return bus.publish(event);
    },
  };
}
