import { CallTrackError } from './errors/calltrack-error';

/**
 * Whether `error` is core's `redisClientClosedError` (code `redis_client_closed`): a Redis
 * client whose status is `end` failed the command, a bug or a shutdown rather than an outage.
 */
export function isRedisClientClosedError(error: unknown): boolean {
  return CallTrackError.isInstance(error) && error.code === 'redis_client_closed';
}

/** What {@link EndedClientNotice.runFailed} found. */
export type EndedClientFailure = 'other' | 'ended' | 'reported';

/**
 * A background loop's runs failing on a Redis client that has ended (status `end`: the app
 * called `quit()` / `disconnect()`, or its `retryStrategy` gave up): said once, as one error line
 * ({@link endedClientLine}), not at every run. Such a client fails every command at once, without
 * a round trip, for as long as it stays ended, so the loop keeps running quietly: an app may
 * `connect()` the client again, and the loop then works with no restart (decision 0065).
 *
 * The calltrack loops that run Redis work and log their failures (presence's sweeps, heartbeats,
 * confirmations and deliveries, the webhook fan-out, Socket.IO's presence heartbeats, the
 * tracker's maintenance, the dialer's reconciler and call-event follower) follow this rule,
 * through `createOutageIncident` or `createLoopFailureLog`.
 */
export interface EndedClientNotice {
  /**
   * A run failed with `error`: `ended` when it is the first failure on an ended client since a
   * run worked (log {@link endedClientLine}), `reported` for the next ones (log nothing),
   * `other` for any other error (report it as the loop does).
   */
  runFailed(error: unknown): EndedClientFailure;
  /** A run worked (the client was connected again): the next ended client is said again. */
  runWorked(): void;
}

/** Says an ended Redis client once per loop; see {@link EndedClientNotice}. */
export function createEndedClientNotice(): EndedClientNotice {
  let reported = false;
  return {
    runFailed(error) {
      if (!isRedisClientClosedError(error)) return 'other';
      if (reported) return 'reported';
      reported = true;
      return 'ended';
    },
    runWorked() {
      reported = false;
    },
  };
}

/**
 * The one line a loop logs when its runs fail on an ended Redis client: `loop` names the runs
 * (`Presence sweeps`, `Dialer reconciliations`), as in `Presence sweeps fail: …`.
 */
export function endedClientLine(loop: string): string {
  return `${loop} fail: their Redis client has ended (the app called quit() or disconnect(), or its retryStrategy gave up), a bug or a shutdown, not an outage. Reported once: they fail until the client connects again.`;
}
