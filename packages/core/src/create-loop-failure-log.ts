import {
  createEndedClientNotice,
  type EndedClientFailure,
  endedClientLine,
} from './ended-client-notice';
import type { Logger } from './logger';

/** How a background loop logs its failures; see {@link createLoopFailureLog}. */
export interface LoopFailureLog {
  /**
   * A run (or a part of one) failed with `context.error`: logged as `message`, or not at all.
   * Answers what core's `EndedClientNotice` found (`other` unless the client has ended).
   */
  failed(
    message: string,
    context: { error: unknown } & Record<string, unknown>,
  ): EndedClientFailure;
  /** A run worked: a client that ends again is said again. */
  worked(): void;
  /**
   * A run whose parts log their own failures: `error` logs as `failed` does (the context's
   * `error` read, if any), and `end` counts the run as worked unless a part failed on an ended
   * client.
   */
  pass(): LoopPassLog;
}

/** The log of one run of a loop; see {@link LoopFailureLog.pass}. */
export interface LoopPassLog {
  error(message: string, context?: Record<string, unknown>): void;
  end(): void;
}

/**
 * The failures of a background loop that logs each one (the tracker's maintenance, the dialer's
 * reconciler): every failure is logged as `error`, as it is, but those on a Redis client that has
 * ended only once, as core's {@link endedClientLine} naming `loop`, until a run works (core's
 * `EndedClientNotice`). A run that had any part fail so should not call `worked`.
 */
export function createLoopFailureLog(
  logger: Required<Pick<Logger, 'error'>>,
  loop: string,
): LoopFailureLog {
  const ended = createEndedClientNotice();
  const log: LoopFailureLog = {
    failed(message, context) {
      const failure = ended.runFailed(context.error);
      if (failure === 'other') logger.error(message, context);
      else if (failure === 'ended') logger.error(endedClientLine(loop), { error: context.error });
      return failure;
    },
    worked() {
      ended.runWorked();
    },
    pass() {
      let endedClient = false;
      return {
        error: (message, context) => {
          const failure = log.failed(message, { error: undefined, ...context });
          if (failure !== 'other') endedClient = true;
        },
        end: () => {
          if (!endedClient) ended.runWorked();
        },
      };
    },
  };
  return log;
}
