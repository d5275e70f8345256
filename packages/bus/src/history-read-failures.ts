import type { Clock } from '@calltrack/core';
import { createOutageIncident } from '@calltrack/core/internal';

/**
 * The failed history reads of a bus's subscriptions, reported as one incident: the first failure
 * as it is, then nothing while reads keep failing (each subscription retries every 250 ms for as
 * long as Redis is down, and every SSE or Socket.IO client holds one), then one `Error` once
 * reads work again, saying after how long and how many failed reads.
 *
 * Reads work again when every subscription whose read failed has read again, and when a read of
 * each scope whose failing subscriptions ended instead (an SSE client answered 503 leaves and
 * retries later) worked: the incident stays open for them, so the next client's failure is not a
 * new incident. A scope is what one node serves: the whole Redis, or on a Cluster one tenant
 * (its keys share a slot). So a Cluster with one node down does not flap between tenants whose
 * reads work and those whose reads fail. A scope whose last failure is older than
 * {@link forgottenAfterMs} (nobody tried it since) no longer holds the incident open.
 */
export interface HistoryReadFailures {
  /** `reader`'s history read of `tenantId` failed (it retries later). */
  failed(reader: object, tenantId: string, error: Error): void;
  /** `reader` read the history of `tenantId`. */
  succeeded(reader: object, tenantId: string): void;
  /** `reader` ended: it will not read again. */
  ended(reader: object): void;
}

/** How long a scope nobody reads holds an incident open after its last failed read. */
export const forgottenAfterMs = 60_000;

/** Options of {@link createHistoryReadFailures}. */
export interface HistoryReadFailuresOptions {
  /** A Redis Cluster: each tenant is its own scope. Default false (one scope). */
  cluster?: boolean;
  /** Default `Date.now`. */
  clock?: Clock;
}

/** Follows the failed reads of one bus, reporting to `report`. */
export function createHistoryReadFailures(
  report: (error: Error) => void,
  options: HistoryReadFailuresOptions = {},
): HistoryReadFailures {
  const clock = options.clock ?? { now: Date.now };
  const scopeOf = (tenantId: string): string => (options.cluster ? tenantId : '');
  // Subscriptions whose last read failed, with their scope.
  const failing = new Map<object, string>();
  // Scopes whose failing subscriptions ended before reading again: when they last failed.
  const unconfirmed = new Map<string, number>();
  const incident = createOutageIncident({
    back: "The Redis bus's history reads work again",
    failures: 'failed reads',
    clock,
  });

  return {
    failed(reader, tenantId, error) {
      const scope = scopeOf(tenantId);
      failing.set(reader, scope);
      unconfirmed.delete(scope);
      if (incident.failed()) report(error);
    },
    succeeded(reader, tenantId) {
      failing.delete(reader);
      if (!incident.open) return;
      const at = clock.now();
      unconfirmed.delete(scopeOf(tenantId));
      for (const [scope, lastFailed] of unconfirmed) {
        if (at - lastFailed >= forgottenAfterMs) unconfirmed.delete(scope);
      }
      if (failing.size > 0 || unconfirmed.size > 0) return;
      const back = incident.end();
      if (back) report(new Error(back));
    },
    ended(reader) {
      const scope = failing.get(reader);
      if (scope === undefined) return;
      failing.delete(reader);
      // Its scope has not been read since it failed: the next read of it says whether it works.
      if (incident.open) unconfirmed.set(scope, clock.now());
    },
  };
}
