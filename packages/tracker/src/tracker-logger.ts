import type { Logger } from '@calltrack/core';
import { maskLogContext } from './mask-log-context';

/** The levels the tracker reports at. */
type TrackerLevel = 'debug' | 'warn' | 'error';

/** The default: errors to `console.warn`, nothing else. */
export const defaultTrackerLogger: Logger = {
  error: (message, context) => console.warn(`[calltrack/tracker] ${message}`, context ?? ''),
};

/** A logger wrapped by {@link createMaskedLogger}. */
export interface MaskedTrackerLogger extends Required<Pick<Logger, TrackerLevel>> {
  /** Whether `debug` goes anywhere: skip building a context nobody reads. */
  logsDebug: boolean;
}

/** Wraps a logger so that contexts are masked and a throwing logger cannot break the tracker. */
export function createMaskedLogger(logger: Logger): MaskedTrackerLogger {
  const wrap =
    (level: TrackerLevel) =>
    (message: string, context?: Record<string, unknown>): void => {
      const method = logger[level];
      if (!method) return;
      try {
        method.call(
          logger,
          maskLogContext(message) as string,
          context === undefined ? undefined : (maskLogContext(context) as Record<string, unknown>),
        );
      } catch {
        // A logger must never take the tracker down.
      }
    };
  return {
    debug: wrap('debug'),
    warn: wrap('warn'),
    error: wrap('error'),
    logsDebug: typeof logger.debug === 'function',
  };
}
