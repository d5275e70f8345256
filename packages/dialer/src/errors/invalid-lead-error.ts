import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_InvalidLeadError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A lead handed to a store is not a lead (a missing id, user or number). Answered with 400. */
export class InvalidLeadError extends CallTrackError {
  private readonly [symbol] = true;
  /** Which input (its index in the list) and which field. */
  readonly index: number;
  readonly field: string;

  constructor({ index, field, message }: { index: number; field: string; message: string }) {
    super({ message: `Lead ${index}: ${field} ${message}.`, code: 'invalid_lead', status: 400 });
    this.name = name;
    this.index = index;
    this.field = field;
  }

  static override isInstance(error: unknown): error is InvalidLeadError {
    return CallTrackError.hasMarker(error, marker);
  }
}
