/**
 * Where presence reports what happens in the background. Methods are optional; one that throws
 * is ignored. Contexts carry ids and counts, never connection data or message bodies.
 */
export interface PresenceLogger {
  /** Transitions published, deliveries made. */
  debug?(message: string, context?: Record<string, unknown>): void;
  /** Messages dropped from a full or too old offline queue (with counts). */
  warn?(message: string, context?: Record<string, unknown>): void;
  /** Failures: a publish or heartbeat that failed, a sweep that threw. */
  error?(message: string, context?: Record<string, unknown>): void;
}

/** The default: warnings and errors to `console.warn`, nothing else. */
export const defaultPresenceLogger: PresenceLogger = {
  warn: (message, context) => console.warn(`[calltrack/presence] ${message}`, context ?? ''),
  error: (message, context) => console.warn(`[calltrack/presence] ${message}`, context ?? ''),
};

/** Wraps a logger so that a throwing or partial logger cannot break presence. */
export function createSafeLogger(logger: PresenceLogger): Required<PresenceLogger> {
  const wrap =
    (level: keyof PresenceLogger) =>
    (message: string, context?: Record<string, unknown>): void => {
      const method = logger[level];
      if (!method) return;
      try {
        method.call(logger, message, context);
      } catch {
        // A logger must never take presence down.
      }
    };
  return { debug: wrap('debug'), warn: wrap('warn'), error: wrap('error') };
}
