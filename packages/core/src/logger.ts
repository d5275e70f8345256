/**
 * Where a calltrack package reports what it does in the background: the tracker, presence and
 * the dialer take one as their `logger` option. Every method is optional (a package calls only
 * the levels you give it) and has the shape of `console`'s, so `console` itself, pino's or
 * winston's child loggers wrapped in four arrows, or an object with only `error` all fit. A
 * method that throws is ignored. Contexts carry ids, counts and the `error`, never message
 * bodies; the tracker and the dialer mask the phone numbers in them first, and no error carries
 * the values of a write Redis or PostgreSQL refused (a Redis command's arguments, a row).
 */
export interface Logger {
  /** Every outcome, in detail (the tracker's ingested events, presence transitions). */
  debug?(message: string, context?: Record<string, unknown>): void;
  /** What happened, once per step a user follows (the dialer's skips, placed and settled calls). */
  info?(message: string, context?: Record<string, unknown>): void;
  /** Something was dropped, refused or repaired, and the package went on. */
  warn?(message: string, context?: Record<string, unknown>): void;
  /** Failures: a store, bus or hook that threw, background work that stopped on an error. */
  error?(message: string, context?: Record<string, unknown>): void;
}
