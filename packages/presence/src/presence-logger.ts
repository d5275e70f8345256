import type { Logger } from '@calltrack/core';
import { redactErrorValues } from '@calltrack/core/internal';

/** The levels presence reports at. */
type PresenceLevel = 'debug' | 'warn' | 'error';

/** The default: warnings and errors to `console.warn`, nothing else. */
export const defaultPresenceLogger: Logger = {
  warn: (message, context) => console.warn(`[calltrack/presence] ${message}`, context ?? ''),
  error: (message, context) => console.warn(`[calltrack/presence] ${message}`, context ?? ''),
};

/**
 * Wraps a logger so that a throwing or partial logger cannot break presence, and errors in
 * contexts carry no written values (`redactErrorValues`).
 */
export function createSafeLogger(logger: Logger): Required<Pick<Logger, PresenceLevel>> {
  const wrap =
    (level: PresenceLevel) =>
    (message: string, context?: Record<string, unknown>): void => {
      const method = logger[level];
      if (!method) return;
      try {
        // A refused Redis command's arguments (a message body, connection data) stay out of logs.
        if (context) for (const value of Object.values(context)) redactErrorValues(value);
        method.call(logger, message, context);
      } catch {
        // A logger must never take presence down.
      }
    };
  return { debug: wrap('debug'), warn: wrap('warn'), error: wrap('error') };
}
