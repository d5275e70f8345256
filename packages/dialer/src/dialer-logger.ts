import { type Logger, maskPhoneNumber } from '@calltrack/core';

/** The levels the dialer reports at. */
type DialerLevel = 'info' | 'warn' | 'error';

/** The default: warnings and errors to `console.warn`, nothing else. */
export const defaultDialerLogger: Logger = {
  warn: (message, context) => console.warn(`[calltrack/dialer] ${message}`, context ?? ''),
  error: (message, context) => console.warn(`[calltrack/dialer] ${message}`, context ?? ''),
};

/** Wraps a logger: contexts masked, and a throwing logger cannot break the dialer. */
export function createMaskedDialerLogger(logger: Logger): Required<Pick<Logger, DialerLevel>> {
  const wrap =
    (level: DialerLevel) =>
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
