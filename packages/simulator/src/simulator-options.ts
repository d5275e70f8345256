import type { CallDirection, Clock } from '@calltrack/core';
import type { CallScript } from './call-script';
import type { SimulatorCredentials } from './demo-credentials';
import type { SimulatedCall } from './simulated-call';
import type { SimulatedOutcome } from './simulated-outcome';
import type { SimulatorDelivery } from './simulator-delivery';
import type { SimulatorLine } from './simulator-line';
import type { SimulatorProvider } from './simulator-provider';
import type { SimulatorRetryPolicy } from './simulator-retry-policy';

/** Options of {@link createSimulator}. */
export interface SimulatorOptions {
  /** Base URL of the app receiving the webhooks, e.g. `http://localhost:3000`. */
  target: string;
  /**
   * Path of each provider's webhook endpoint, appended to `target` (it may carry a query).
   * Default `<pathPrefix>/twilio`, `<pathPrefix>/retell`, `<pathPrefix>/callerdesk`. CallerDesk
   * gets `?token=<callerDeskToken>` added.
   */
  paths?: Partial<Record<SimulatorProvider, string>>;
  /** Prefix of the default paths; default `/webhooks` (the Next.js example uses `/api/webhooks`). */
  pathPrefix?: string;
  /** Providers to simulate; default every provider that has a line (all three with `demoLines`). */
  providers?: readonly SimulatorProvider[];
  /** Business lines to call on; default `demoLines`. Only lines of `providers` are used. */
  lines?: readonly SimulatorLine[];
  /** Secrets to sign with; missing ones default to `demoCredentials`. */
  credentials?: Partial<SimulatorCredentials>;
  /**
   * New calls per second (wall clock) while running; default 0.5. Arrivals are random
   * (a Poisson process), so the gaps vary around `1 / rate` seconds.
   */
  rate?: number;
  /**
   * Time scale of each call: 10 runs calls ten times faster than real time (a two-minute call
   * takes 12 s). `Infinity` sends each call's webhooks back to back. Default 1. Payload times
   * (`Timestamp`, `start_timestamp`, `StartTime`…) and durations stay realistic either way.
   */
  speed?: number;
  /** At most this many calls at once from `start()`; arrivals above it are skipped (counted in `stats.skipped`). Default unlimited. */
  maxActiveCalls?: number;
  /** Stop starting calls after this many from `start()`; `idle()` then resolves once they finished. Default unlimited. */
  maxCalls?: number;
  /**
   * Outcome weights, e.g. `{ completed: 6, 'no-answer': 2, voicemail: 1 }`. Outcomes not named
   * get weight 0. Default `defaultOutcomeWeights`.
   */
  outcomes?: Partial<Record<SimulatedOutcome, number>>;
  /**
   * Share (0..1) of webhooks delivered a second time, a few seconds later, although the first
   * delivery succeeded (a provider that lost the answer sends it again). Default 0. Retries of
   * failed deliveries are `retries`.
   */
  duplicateRate?: number;
  /**
   * How each provider retries a delivery the app did not take (a failed connection, no answer
   * within `timeoutMs`, a 4xx or 5xx): the same request again, signed at its own time, after
   * the provider's delay on the call's time scale (`speed`). Default each provider's own
   * policy: Twilio one retry of a failed connection or a timeout (not of an answer); Retell up
   * to 3 retries of any non-2xx or timeout; CallerDesk none (it documents none). Twilio also stops once its attempts took its
   * total timeout (`tt`, 15 s) together. A number sets every provider's count (`0`: no
   * retries); per provider, a count or `{ count, on, totalTimeoutMs }` (which failures are
   * retried, and the budget of all attempts; e.g. a Twilio URL with `#rp=5xx&tt=5000`:
   * `{ twilio: { on: ['5xx'], totalTimeoutMs: 5000 } }`). Twilio's count is 0 to 5, as its `rc`
   * (a single number above 5 is refused too when Twilio is among `providers`: it would be
   * Twilio's; a run without Twilio takes it, and refuses a Twilio call started anyway).
   */
  retries?: number | Partial<Record<SimulatorProvider, number | Partial<SimulatorRetryPolicy>>>;
  /** Share (0..1) of calls with one webhook delivered after a later one. Default 0. */
  reorderRate?: number;
  /**
   * Seed of every random choice: the same seed gives the same calls (ids, numbers, outcomes,
   * timing, payloads). Default random; read it back from `simulator.seed`. Call ids repeat with
   * the seed, so replaying a seed against an app that still remembers those calls only yields
   * duplicates.
   */
  seed?: number;
  /**
   * The simulated clock the payload times are derived from; default `Date.now`. Fix it (with
   * `seed`) for byte-identical payloads. Retell signatures always use the real time
   * (`wallClock`), as apps check them against it.
   */
  clock?: Clock;
  /**
   * The real time, default `Date.now`; for tests that let minutes pass without waiting them. It
   * is when each attempt is signed (Retell signs every attempt, retries too, with its time, and
   * apps check it within 5 minutes), the deliveries' `sentAt`, and how long an attempt took,
   * counted against Twilio's total timeout (`retries`).
   */
  wallClock?: Clock;
  /** How CallerDesk delivers: `POST` with a JSON body (default) or `GET` with a query string. */
  callerDeskMethod?: 'GET' | 'POST';
  /**
   * Give up on a delivery attempt after this many milliseconds (wall clock). Default each
   * provider's: 15000 for Twilio (its read timeout) and CallerDesk, 10000 for Retell. A Twilio
   * attempt also ends when its total timeout is spent (see `retries`).
   */
  timeoutMs?: number;
  /** The `fetch` to send with; default the global one. */
  fetch?: typeof fetch;
  /** Aborting it is `stop({ abort: true })`. */
  signal?: AbortSignal;
  /** Called after every delivery, retries included. Errors it throws are ignored. */
  onDelivery?: (delivery: SimulatorDelivery) => void;
  /** Called when a call starts, with its script. Errors it throws are ignored. */
  onCallStart?: (call: CallScript) => void;
  /** Called when an arrival is skipped because `maxActiveCalls` calls are running. Errors it throws are ignored. */
  onSkip?: () => void;
  /** Called when a call finished (or was aborted). Errors it throws are ignored. */
  onCallEnd?: (call: SimulatedCall) => void;
}

/** Options of `simulator.runCall()`; everything not given is drawn at random. */
export interface RunCallOptions {
  /** The provider; default a random one of `providers` (or the line's). */
  provider?: SimulatorProvider;
  /** How the call ends; default drawn from `outcomes`. */
  outcome?: SimulatedOutcome;
  /** The business line; default a random line of the provider. */
  line?: SimulatorLine;
  /** The direction; default one that fits the outcome and provider. */
  direction?: CallDirection;
  /** Talk time of an answered call, in milliseconds. */
  talkDurationMs?: number;
  /** The customer's number (E.164). */
  customerNumber?: string;
  /** Share (0..1) of this call's webhooks delivered twice; default the simulator's `duplicateRate`. */
  duplicateRate?: number;
  /** Deliver one webhook out of order (when the call has at least two); default by `reorderRate`. */
  reorder?: boolean;
  /** Seed of this call (replays `SimulatedCall.seed`); default drawn from the simulator's seed. */
  seed?: number;
  /** Speed of this call; default the simulator's `speed`. */
  speed?: number;
  /** Abort this call: pending webhooks are not sent, and the call resolves with `aborted: true`. */
  signal?: AbortSignal;
}

/** Options of `simulator.stop()`. */
export interface StopOptions {
  /**
   * `false` (default): stop starting calls and wait until the running ones have sent all their
   * webhooks. `true`: also abort the running calls (no further webhooks; requests in flight are
   * cancelled) and resolve as soon as they wound down.
   */
  abort?: boolean;
}
