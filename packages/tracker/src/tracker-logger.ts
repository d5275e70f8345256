import { maskLogContext } from './mask-log-context';

/**
 * Where the tracker reports what happens in the background. Every context passes through a
 * masking step first, so phone numbers never reach a log in clear. Methods are optional.
 */
export interface TrackerLogger {
  /** Every ingested event's outcome, reaped calls, claimed alerts. */
  debug?(message: string, context?: Record<string, unknown>): void;
  /** Stale calls closed by the reaper; events dropped as possible replays (`expired`). */
  warn?(message: string, context?: Record<string, unknown>): void;
  /** Failures: a publish that failed, a background run that threw, an alert hook that threw. */
  error?(message: string, context?: Record<string, unknown>): void;
}

/** The default: errors to `console.warn`, nothing else. */
export const defaultTrackerLogger: TrackerLogger = {
  error: (message, context) => console.warn(`[calltrack/tracker] ${message}`, context ?? ''),
};

/** A logger wrapped by {@link createMaskedLogger}. */
export interface MaskedTrackerLogger extends Required<TrackerLogger> {
  /** Whether `debug` goes anywhere: skip building a context nobody reads. */
  logsDebug: boolean;
}

/** Wraps a logger so that contexts are masked and a throwing logger cannot break the tracker. */
export function createMaskedLogger(logger: TrackerLogger): MaskedTrackerLogger {
  const wrap =
    (level: keyof TrackerLogger) =>
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
