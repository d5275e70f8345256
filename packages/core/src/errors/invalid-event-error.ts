import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_InvalidEventError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** One problem found while validating an event. */
export interface InvalidEventIssue {
  /** Dot-separated path of the offending field, e.g. `data.durationMs`; empty for the root. */
  field: string;
  message: string;
}

/**
 * A value is not a valid `CallEvent`. `field` names the first offending field; `issues` lists all.
 * Answered with 400 when it ends a request.
 */
export class InvalidEventError extends CallTrackError {
  private readonly [symbol] = true;
  /** Path of the first offending field. */
  readonly field: string;
  /** Every problem found. */
  readonly issues: readonly InvalidEventIssue[];

  constructor({ issues, cause }: { issues: readonly InvalidEventIssue[]; cause?: unknown }) {
    const first = issues[0] ?? { field: '', message: 'invalid event' };
    super({
      message: `Invalid CallEvent: ${first.field || '(root)'}: ${first.message}`,
      code: 'invalid_event',
      status: 400,
      cause,
    });
    this.name = name;
    this.field = first.field;
    this.issues = issues;
  }

  static override isInstance(error: unknown): error is InvalidEventError {
    return CallTrackError.hasMarker(error, marker);
  }
}
