import type { BusEventMessage } from '@calltrack/bus';
import type { SseSkippedEvent } from './sse-handler-options';

/**
 * What can safely be said about an event that had to be skipped: its cursor, and its id, type
 * and tenant when they are strings that can be read (the event may have throwing getters).
 */
export function describeSkippedEvent(message: BusEventMessage): SseSkippedEvent {
  const skipped: SseSkippedEvent = { cursor: message.cursor };
  for (const field of ['id', 'type', 'tenantId'] as const) {
    try {
      const value: unknown = (message.event as unknown as Record<string, unknown>)[field];
      if (typeof value === 'string') skipped[field === 'id' ? 'eventId' : field] = value;
    } catch {
      // A getter that throws: say nothing about that field.
    }
  }
  return skipped;
}
