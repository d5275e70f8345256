import { type Logger, maskPhoneNumber } from '@calltrack/core';
import { redactErrorValues } from '@calltrack/core/internal';

/** The levels the dialer reports at. */
type DialerLevel = 'info' | 'warn' | 'error';

/** The default: warnings and errors to `console.warn`, nothing else. */
export const defaultDialerLogger: Logger = {
  warn: (message, context) => console.warn(`[calltrack/dialer] ${message}`, context ?? ''),
  error: (message, context) => console.warn(`[calltrack/dialer] ${message}`, context ?? ''),
};

/**
 * Wraps a logger: contexts masked, errors in them without written values (`redactErrorValues`),
 * and a throwing logger cannot break the dialer.
 */
export function createMaskedDialerLogger(logger: Logger): Required<Pick<Logger, DialerLevel>> {
  const wrap =
    (level: DialerLevel) =>
    (message: string, context?: Record<string, unknown>): void => {
      const method = logger[level];
      if (!method) return;
      try {
        const masked = context && { ...context };
        // A refused Redis command's or a PostgreSQL row's values (a lead's) stay out of logs.
        if (masked) for (const value of Object.values(masked)) redactErrorValues(value);
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
