import type { SimulatedCall } from './simulated-call';
import type { RunCallOptions, StopOptions } from './simulator-options';
import type { SimulatorStats } from './simulator-stats';

/** A running source of simulated provider webhooks; see {@link createSimulator}. */
export interface Simulator {
  /** The seed in use (given or drawn): pass it as `seed` to replay the same traffic. */
  readonly seed: number;
  /** True between `start()` and `stop()` (or until `maxCalls` calls were started). */
  readonly running: boolean;
  /** What the simulator did so far: a fresh snapshot on every read. */
  readonly stats: SimulatorStats;
  /** Starts calls at `rate` per second until `stop()` (or `maxCalls`). The first starts at once. Calling it while running does nothing. */
  start(): void;
  /**
   * Stops starting calls. By default waits for the running calls to send all their webhooks
   * (at `speed`, that can take minutes); with `{ abort: true }` aborts them instead.
   */
  stop(options?: StopOptions): Promise<void>;
  /**
   * Runs one call now, outside the `start()` schedule and `maxActiveCalls`, and resolves with it
   * once its last webhook was answered (or failed). Never rejects for delivery problems: look at
   * `ok` and `deliveries`. Throws `InvalidArgumentError` for impossible options (no line for the
   * provider, unknown outcome).
   */
  runCall(options?: RunCallOptions): Promise<SimulatedCall>;
  /** Resolves once the simulator is not running and no call is active. */
  idle(): Promise<void>;
}
