const marker = 'calltrack.error';
const symbol = Symbol.for(marker);

/** Options every {@link CallTrackError} takes. */
export interface CallTrackErrorOptions {
  /** Human-readable explanation, safe to show to the caller of an API. */
  message: string;
  /** Stable machine-readable code, e.g. `invalid_signature`. */
  code?: string;
  /** The HTTP status a handler answers with when this error ends a request. */
  status?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The base of every error calltrack throws. Carries a stable `code` and the HTTP `status` a
 * handler should answer with. Use {@link CallTrackError.isInstance} instead of `instanceof`: it
 * works across duplicated package copies and across the ESM/CommonJS split.
 */
export class CallTrackError extends Error {
  private readonly [symbol] = true;
  /** Stable machine-readable code. */
  readonly code: string;
  /** HTTP status for a handler's response. */
  readonly status: number;

  constructor({ message, code = 'calltrack_error', status = 500, cause }: CallTrackErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CallTrack_Error';
    this.code = code;
    this.status = status;
  }

  /** True when `error` is any calltrack error, from any copy of this package. */
  static isInstance(error: unknown): error is CallTrackError {
    return CallTrackError.hasMarker(error, marker);
  }

  /** @internal */
  protected static hasMarker(error: unknown, markerName: string): boolean {
    const markerSymbol = Symbol.for(markerName);
    return (
      error != null &&
      typeof error === 'object' &&
      markerSymbol in error &&
      (error as Record<symbol, unknown>)[markerSymbol] === true
    );
  }
}
