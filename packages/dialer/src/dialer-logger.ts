import { maskPhoneNumber } from '@calltrack/core';

/**
 * Where the dialer reports what it does in the background. Phone numbers in contexts (fields
 * named `phoneNumber` or `to`) are masked first. Methods are optional.
 */
export interface DialerLogger {
  /** Every skip (with its reason), placed call and settled attempt. */
  info?(message: string, context?: Record<string, unknown>): void;
  /** Refused and ambiguous dials, orphaned attempts, fenced-out writes, lost leases. */
  warn?(message: string, context?: Record<string, unknown>): void;
  /** Failures: a store or bus that threw, a run that stopped on an error. */
  error?(message: string, context?: Record<string, unknown>): void;
}

/** The default: warnings and errors to `console.warn`, nothing else. */
export const defaultDialerLogger: DialerLogger = {
  warn: (message, context) => console.warn(`[calltrack/dialer] ${message}`, context ?? ''),
  error: (message, context) => console.warn(`[calltrack/dialer] ${message}`, context ?? ''),
};

/** Wraps a logger: contexts masked, and a throwing logger cannot break the dialer. */
export function createMaskedDialerLogger(logger: DialerLogger): Required<DialerLogger> {
  const wrap =
    (level: keyof DialerLogger) =>
    (message: string, context?: Record<string, unknown>): void => {
      const method = logger[level];
      if (!method) return;
      try {
        const masked = context && { ...context };
        for (const field of ['phoneNumber', 'to'] as const) {
          if (masked && typeof masked[field] === 'string') {
            masked[field] = maskPhoneNumber(masked[field] as string);
          }
        }
        method.call(logger, message, masked);
      } catch {
        // A logger must never take the dialer down.
      }
    };
  return { info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
