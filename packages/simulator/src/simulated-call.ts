import type { CallScript } from './call-script';
import type { SimulatorDelivery } from './simulator-delivery';

/**
 * A call the simulator ran: its script (who, how it ends, every webhook) and how each delivery
 * went. `startedAt`/`endedAt` are the call's own times on the simulated clock.
 */
export interface SimulatedCall extends CallScript {
  /** The seed the call was scripted with: `runCall({ seed })` replays it. */
  seed: number;
  /** True when some of its webhooks were delivered out of order. */
  reordered: boolean;
  /** How many deliveries were planned duplicates (sent twice though the first succeeded). */
  duplicates: number;
  /** Every delivery, retries included, in the order they were sent. */
  deliveries: SimulatorDelivery[];
  /**
   * True when every delivery was answered 2xx, at the latest by one of its retries, and the
   * call was not aborted.
   */
  ok: boolean;
  /** True when the call was cut short by `stop({ abort: true })` or an abort signal. */
  aborted: boolean;
}
