import { InvalidArgumentError } from '@calltrack/core';
import type { BusOptions } from './event-bus';

/** {@link BusOptions} with every default filled in. */
export interface ResolvedBusOptions {
  maxEvents: number;
  maxAgeMs: number;
  maxBytes: number;
  maxBufferedMessages: number;
  /**
   * Hands a failure to `onError`. One that throws is ignored: a report is made where the bus
   * recovers from something (inside a publish's fan-out, inside a Redis connection's message
   * handler), and a broken logger must not turn it into a failed publish, a subscriber that
   * misses events or an uncaught exception.
   */
  report: (error: Error) => void;
}

/** `history.maxBytes` by default: 16 MiB of event JSON per tenant (decision 0075). */
export const defaultHistoryMaxBytes = 16 * 1024 * 1024;

/** Fills in defaults and rejects limits that cannot work. */
export function resolveBusOptions(options: BusOptions = {}): ResolvedBusOptions {
  const resolved = {
    maxEvents: options.history?.maxEvents ?? 1000,
    maxAgeMs: options.history?.maxAgeMs ?? 60 * 60 * 1000,
    maxBytes: options.history?.maxBytes ?? defaultHistoryMaxBytes,
    maxBufferedMessages: options.maxBufferedMessages ?? 1000,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError({ message: `Bus option ${name} must be a positive integer.` });
    }
  }
  const { onError } = options;
  const report = (error: Error): void => {
    try {
      onError?.(error);
    } catch {
      // A logger that throws is ignored, as everywhere in calltrack.
    }
  };
  return { ...resolved, report };
}
