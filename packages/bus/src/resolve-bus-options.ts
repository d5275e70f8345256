import { InvalidArgumentError } from '@calltrack/core';
import type { BusOptions } from './event-bus';

/** {@link BusOptions} with every default filled in. */
export interface ResolvedBusOptions {
  maxEvents: number;
  maxAgeMs: number;
  maxBufferedMessages: number;
}

/** Fills in defaults and rejects limits that cannot work. */
export function resolveBusOptions(options: BusOptions = {}): ResolvedBusOptions {
  const resolved = {
    maxEvents: options.history?.maxEvents ?? 1000,
    maxAgeMs: options.history?.maxAgeMs ?? 60 * 60 * 1000,
    maxBufferedMessages: options.maxBufferedMessages ?? 1000,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError({ message: `Bus option ${name} must be a positive integer.` });
    }
  }
  return resolved;
}
