import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_AddressBlockedError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A delivery was refused before connecting: the endpoint's host is, or resolves to, a private, loopback, link-local, metadata or other special address outside `allowedCidrs`. Answered with 400 when an endpoint is saved with such an address. */
export class AddressBlockedError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'address_blocked', status: 400, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is AddressBlockedError {
    return CallTrackError.hasMarker(error, marker);
  }
}
