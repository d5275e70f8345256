import type { SimulatorProvider } from './simulator-provider';

/**
 * A way a delivery can fail that a provider may retry: `connection` (refused, reset, no route),
 * `timeout` (no answer within `timeoutMs`), or an answer of class `4xx` / `5xx`.
 */
export type SimulatorRetryFailure = 'connection' | 'timeout' | '4xx' | '5xx';

/** How a provider retries a webhook delivery that failed: the same request again, after a delay. */
export interface SimulatorRetryPolicy {
  /** Retries after the first attempt (0: none; Twilio's, as its `rc`, at most 5). */
  count: number;
  /** The failures that are retried; any other failure is final at once. */
  on: readonly SimulatorRetryFailure[];
  /**
   * The time all attempts of a delivery may take together, in milliseconds (Twilio's total
   * timeout, `tt`): no retry once the attempts took this long, and an attempt waits at most what
   * is left. Twilio's default is 15000; unlimited when undefined (Retell, CallerDesk).
   */
  totalTimeoutMs?: number;
}

/**
 * What each provider does when the app does not take a webhook (see the README's "Retries"):
 *
 * - Twilio: its connection overrides' defaults, `rc=1`, `rp=ct,rt` and `tt=15000`: one retry when
 *   the connection failed or the answer timed out, while the attempts took less than 15 s in
 *   all; a 4xx or 5xx answer is final.
 * - Retell: up to 3 retries of any non-2xx answer or no answer within its 10 s timeout.
 * - CallerDesk documents no retries, so none: an app must not count on them.
 *
 * @internal
 */
export const defaultRetryPolicies: Readonly<Record<SimulatorProvider, SimulatorRetryPolicy>> =
  Object.freeze({
    twilio: Object.freeze({
      count: 1,
      on: Object.freeze(['connection', 'timeout'] as const),
      totalTimeoutMs: 15_000,
    }),
    retell: Object.freeze({
      count: 3,
      on: Object.freeze(['connection', 'timeout', '4xx', '5xx'] as const),
    }),
    callerdesk: Object.freeze({
      count: 0,
      // What a count given for CallerDesk retries: failures that are not the app's refusal.
      on: Object.freeze(['connection', 'timeout', '5xx'] as const),
    }),
  });

/** Every {@link SimulatorRetryFailure}. @internal */
export const simulatorRetryFailures: readonly SimulatorRetryFailure[] = Object.freeze([
  'connection',
  'timeout',
  '4xx',
  '5xx',
]);

/**
 * The most retries Twilio can be told to make: its connection override `rc` takes 0 to 5.
 * Retell's and CallerDesk's counts are the simulator's own knob, so any count goes. @internal
 */
export const twilioMaxRetries = 5;
