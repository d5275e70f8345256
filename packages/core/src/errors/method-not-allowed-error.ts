import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_MethodNotAllowedError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A request used a method the endpoint does not take. Answered with 405 and an `Allow` header. */
export class MethodNotAllowedError extends CallTrackError {
  private readonly [symbol] = true;
  /** The methods the endpoint takes, for the `Allow` header. */
  readonly allow: readonly string[];

  constructor({
    message,
    allow,
    cause,
  }: {
    message: string;
    allow: readonly string[];
    cause?: unknown;
  }) {
    super({ message, code: 'method_not_allowed', status: 405, cause });
    this.name = name;
    this.allow = allow;
  }

  static override isInstance(error: unknown): error is MethodNotAllowedError {
    return CallTrackError.hasMarker(error, marker);
  }
}
