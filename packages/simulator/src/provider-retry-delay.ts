import type { Random } from './random';
import type { SimulatorProvider } from './simulator-provider';

/** How long each provider waits before sending a webhook again (simulated ms, min and max). */
const retryDelayMs: Readonly<Record<SimulatorProvider, readonly [number, number]>> = {
  // Twilio retries once after a failed or timed-out attempt (connection overrides: up to 15 s).
  twilio: [1000, 15_000],
  // Retell retries after its 10 s timeout.
  retell: [10_000, 12_000],
  callerdesk: [5000, 30_000],
};

/**
 * The simulated milliseconds until `provider` sends a webhook again, drawn from `random`: the
 * delay of a retry, and of a duplicate (a retry of a delivery that had succeeded).
 *
 * @internal
 */
export function drawRetryDelayMs(provider: SimulatorProvider, random: Random): number {
  const [min, max] = retryDelayMs[provider];
  return Math.round(random.between(min, max));
}
