import type { SimulatedOutcome } from './simulated-outcome';
import type { SimulatorProvider } from './simulator-provider';

/** What a simulator did so far (a snapshot: read `simulator.stats` again for fresh numbers). */
export interface SimulatorStats {
  /** Calls started. */
  started: number;
  /** Calls whose every webhook was sent and answered (or failed), aborted ones excluded. */
  completed: number;
  /** Calls cut short by an abort. */
  aborted: number;
  /** Calls running now. */
  active: number;
  /** Arrivals dropped because `maxActiveCalls` calls were running. */
  skipped: number;
  /** HTTP deliveries made, duplicates and retries included. */
  deliveries: number;
  /** Deliveries not answered 2xx (HTTP errors, network errors, timeouts; not aborts), retried ones included. */
  failedDeliveries: number;
  /**
   * Deliveries answered 4xx (wrong secret, unknown number, wrong path…), each attempt counted:
   * a refused attempt whose retry the target took counts too. `rejectedWebhooks` counts the
   * webhooks finally refused.
   */
  rejectedDeliveries: number;
  /** Duplicate deliveries sent (each once: its retries count in `retries`). */
  duplicateDeliveries: number;
  /** Deliveries that were retries of a failed attempt. */
  retries: number;
  /**
   * Webhooks given up on: no delivery of it (first attempt, duplicate, their retries) was taken,
   * the last failed with no retry left or none for that failure, or an abort dropped its retry.
   * A webhook an abort cut off before any failure is not counted.
   */
  lostWebhooks: number;
  /**
   * Of `lostWebhooks`, those the target rejected: the last answer to the webhook was a 4xx. Each
   * webhook counts once, however many of its attempts were refused, and not at all when a retry
   * (or another delivery of it) was taken.
   */
  rejectedWebhooks: number;
  /** Calls with out-of-order deliveries. */
  reorderedCalls: number;
  /** Calls started per provider. */
  byProvider: Record<SimulatorProvider, number>;
  /** Calls started per outcome. */
  byOutcome: Record<SimulatedOutcome, number>;
  /** Deliveries per HTTP status (`0` for no answer). */
  byHttpStatus: Record<string, number>;
  /** Mean delivery time in milliseconds (0 before the first delivery). */
  averageLatencyMs: number;
  /** Slowest delivery in milliseconds. */
  maxLatencyMs: number;
}
