import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { BusUnavailableError, type CallEvent } from '@calltrack/core';

/** A memory bus that remembers what was accepted, and can be told to fail. */
export interface RecordingBus {
  bus: EventBus;
  /** Events the bus accepted (not duplicates), in order. */
  accepted: CallEvent[];
  /** Every publish attempt, failed ones included. */
  attempts: CallEvent[];
  /** While it returns true for an event, publishing that event throws `BusUnavailableError`. */
  failWhen: (event: CallEvent) => boolean;
  /** Accepted events of one type (and call). */
  acceptedOf(type: string, callId?: string): CallEvent[];
}

/** Wraps a fresh memory bus (or the given one). */
export function createRecordingBus(inner: EventBus = createMemoryBus()): RecordingBus {
  const recording: RecordingBus = {
    accepted: [],
    attempts: [],
    failWhen: () => false,
    acceptedOf: (type, callId) =>
      recording.accepted.filter(
        (event) => event.type === type && (callId === undefined || event.callId === callId),
      ),
    bus: {
      async publish(event) {
        recording.attempts.push(event);
        if (recording.failWhen(event)) {
          throw new BusUnavailableError({ message: 'The bus is down (test).' });
        }
        const result = await inner.publish(event);
        if (!result.duplicate) recording.accepted.push(event);
        return result;
      },
      subscribe: (options) => inner.subscribe(options),
      close: () => inner.close(),
    },
  };
  return recording;
}
