import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_TooManyConnectionsError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A user already has `maxConnectionsPerUser` connections: the new one was not registered.
 * Answered with 429.
 */
export class TooManyConnectionsError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'too_many_connections', status: 429, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is TooManyConnectionsError {
    return CallTrackError.hasMarker(error, marker);
  }
}
