import type { Clock } from './clock';
import { createEndedClientNotice } from './ended-client-notice';
import { isOutageError } from './redis-unavailable';

/**
 * An outage counted as one incident: the failure that opens it is reported, the next ones are
 * only counted, and its end is one line saying after how long and how many failures, so every
 * calltrack package says "back" the same way.
 *
 * When it is over is the caller's rule with {@link OutageIncident.failed} and
 * {@link OutageIncident.end} (the bus's history reads, Socket.IO's channels). Background work
 * that retries its runs for as long as Redis is down (presence's sweeps, heartbeats,
 * confirmations and deliveries, the webhook fan-out, Socket.IO's presence heartbeats) uses
 * {@link OutageIncident.runFailed} and {@link OutageIncident.runWorked} instead: they tell an
 * outage from a bug and end the incident by the rule of {@link OutageIncidentOptions.keyed} and
 * {@link OutageIncidentOptions.quietMs}, so each package only says how it reports.
 */
export interface OutageIncident<Key = unknown> {
  /** Whether an outage is open: a failure came since the last {@link OutageIncident.end}. */
  readonly open: boolean;
  /** Counts a failure. True when it opened the outage (report it), false when one was open. */
  failed(): boolean;
  /**
   * Ends the open outage and returns the line that says so, e.g. `Sweeps work again after 1.5 s
   * and 3 failures (only the first was reported).`; undefined (and nothing ends) when none is open.
   */
  end(): string | undefined;
  /**
   * A run failed with `error`, for `key` (a tenant, a connection, a retried step) or for none.
   * `bug` when it is no outage (core's `isOutageError`: report it every time, as it is), `opened`
   * when it opened the incident (report it), `counted` when one was open (report nothing).
   * A client that has ended (`redis_client_closed`) is no outage either, but it fails every run
   * alike: `ended` the first time (report core's `endedClientLine`), then `counted` until a run
   * works (core's `EndedClientNotice`); it opens no incident.
   */
  runFailed(error: unknown, key?: Key): OutageRunFailure;
  /**
   * A run worked, for `key` or for none. Ends the incident when the options' rule says it is
   * over and returns the line to report ({@link OutageIncident.end}); undefined otherwise.
   */
  runWorked(key?: Key): string | undefined;
  /** `key` runs no more (a connection left): it holds the incident open no longer. */
  forget(key: Key): void;
}

/**
 * What {@link OutageIncident.runFailed} found: a bug, the failure that opened the outage, the
 * first on a Redis client that has ended, or a later one (either kind, reported already).
 */
export type OutageRunFailure = 'bug' | 'opened' | 'ended' | 'counted';

/** Options of {@link createOutageIncident}. */
export interface OutageIncidentOptions {
  /** What is back, and how it is: `Sweeps work again`, `The … channels are back`. */
  back: string;
  /** What the failures are called in the end line: `failures`, `failed reads`. */
  failures: string;
  /** Default `Date.now`. */
  clock?: Clock;
  /**
   * For {@link OutageIncident.runWorked}: each run covers a key, and a key whose run failed is
   * tried again until it works. The incident is then over once every key whose run failed has
   * worked again (or was forgotten): on a Redis Cluster with one master down, the keys that work
   * must not end it while those on that master still fail, or the report flaps. A failure with no
   * key is counted and holds nothing open. Default false: one run that works ends it.
   */
  keyed?: boolean;
  /**
   * For {@link OutageIncident.runWorked}: the incident is over when a run works and none has
   * failed for this long (ms), whatever the keys. Default 0 for runs that are not keyed (the
   * first run that works); none for keyed runs (only their keys end it).
   */
  quietMs?: number;
}

/** Counts the failures of one outage at a time; see {@link OutageIncident}. */
export function createOutageIncident<Key = unknown>(
  options: OutageIncidentOptions,
): OutageIncident<Key> {
  const clock = options.clock ?? { now: Date.now };
  const keyed = options.keyed === true;
  const quietMs = options.quietMs ?? (keyed ? undefined : 0);
  let incident: { since: number; failures: number } | undefined;
  // What runWorked's rule reads: the keys whose last run failed, and when a run last failed.
  const failing = new Set<Key>();
  let lastFailedAt = 0;
  const ended = createEndedClientNotice();

  const failed = (): boolean => {
    if (incident) {
      incident.failures += 1;
      return false;
    }
    incident = { since: clock.now(), failures: 1 };
    return true;
  };
  const end = (): string | undefined => {
    if (!incident) return undefined;
    const seconds = ((clock.now() - incident.since) / 1000).toFixed(1);
    const { failures } = incident;
    incident = undefined;
    return `${options.back} after ${seconds} s and ${failures} ${options.failures} (only the first was reported).`;
  };

  return {
    get open() {
      return incident !== undefined;
    },
    failed,
    end,
    runFailed(error, key) {
      const endedClient = ended.runFailed(error);
      if (endedClient !== 'other') return endedClient === 'ended' ? 'ended' : 'counted';
      if (!isOutageError(error)) return 'bug';
      if (quietMs !== undefined) lastFailedAt = clock.now();
      if (keyed && key !== undefined) failing.add(key);
      return failed() ? 'opened' : 'counted';
    },
    runWorked(key) {
      ended.runWorked();
      if (key !== undefined) failing.delete(key);
      const over =
        (keyed && failing.size === 0) ||
        (quietMs !== undefined && clock.now() - lastFailedAt >= quietMs);
      if (!over) return undefined;
      failing.clear();
      return end();
    },
    forget(key) {
      failing.delete(key);
    },
  };
}
