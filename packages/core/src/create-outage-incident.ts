import type { Clock } from './clock';

/**
 * An outage counted as one incident: the failure that opens it is reported, the next ones are
 * only counted, and its end is one line saying after how long and how many failures. When it is
 * over is the caller's rule (every failing reader read again, a quiet interval…); this keeps the
 * count and the line, so every calltrack package says "back" the same way.
 */
export interface OutageIncident {
  /** Whether an outage is open: a failure came since the last {@link OutageIncident.end}. */
  readonly open: boolean;
  /** Counts a failure. True when it opened the outage (report it), false when one was open. */
  failed(): boolean;
  /**
   * Ends the open outage and returns the line that says so, e.g. `Sweeps work again after 1.5 s
   * and 3 failures (only the first was reported).`; undefined (and nothing ends) when none is open.
   */
  end(): string | undefined;
}

/** Options of {@link createOutageIncident}. */
export interface OutageIncidentOptions {
  /** What is back, and how it is: `Sweeps work again`, `The … channels are back`. */
  back: string;
  /** What the failures are called in the end line: `failures`, `failed reads`. */
  failures: string;
  /** Default `Date.now`. */
  clock?: Clock;
}

/** Counts the failures of one outage at a time; see {@link OutageIncident}. */
export function createOutageIncident(options: OutageIncidentOptions): OutageIncident {
  const clock = options.clock ?? { now: Date.now };
  let incident: { since: number; failures: number } | undefined;
  return {
    get open() {
      return incident !== undefined;
    },
    failed() {
      if (incident) {
        incident.failures += 1;
        return false;
      }
      incident = { since: clock.now(), failures: 1 };
      return true;
    },
    end() {
      if (!incident) return undefined;
      const seconds = ((clock.now() - incident.since) / 1000).toFixed(1);
      const { failures } = incident;
      incident = undefined;
      return `${options.back} after ${seconds} s and ${failures} ${options.failures} (only the first was reported).`;
    },
  };
}
